#!/usr/bin/env python3
"""Writes the tokenizer comparison corpus: one JSON string (a document) per line, seeded, so the
committed corpus.jsonl is reproducible:  python3 gen-corpus.py > corpus.jsonl
(`--docs N --seed S` make bigger corpora for bench/tokenizer/run.)

Kinds of text: English with contractions in every case, Japanese (kanji, kana, half/full-width
forms and punctuation), other scripts, source code with tabs, runs of spaces and CRLF, numbers of
1-24 digits in several scripts, emoji with skin tones, ZWJ sequences, flags and keycaps, combining
marks, white space edge cases, special tokens inside text, and random code points.
Left out on purpose, where the JavaScript reference is known to differ from HF tokenizers (Rust) and
from wb (docs/tokenizer.md): U+0085 and U+FEFF (JavaScript's \\s differs from White_Space) and U+017F
(JavaScript does not case-fold 'ſ' to 's' in the Llama 3 contractions). Random code points are limited
to those assigned in this python's Unicode version, which is older than node's.
"""
import argparse
import json
import random
import unicodedata

EXCLUDED = {0x85, 0xFEFF, 0x17F}

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.", "It's not what you think; they're already here.",
    "I'LL BE THERE AT 5 O'CLOCK, WON'T I? SHE'S SURE HE'D COME.", "We've been told you'd know what I'm saying.",
    "Don't stop: 'quoted text' and \"double quotes\" -- dashes -- and ellipses...",
    "The model's loss fell from 2.31 to 1.87 after 10,000 steps (batch 4M tokens).",
    "e-mail: someone@example.com, URL: https://example.org/a/b?c=d&e=f#frag",
    "Tokenizers split text into pieces; BPE then merges bytes by rank.", "Mixed CaSe WoRdS and ALLCAPS and lowercase.",
    "O'Neil's dog's bone's gone. Y'all'd've", "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D 'Ll 'rE",
]
JAPANESE = [
    "東京は日本の首都です。", "今日はいい天気ですね！散歩に行きましょう。", "「吾輩は猫である。名前はまだ無い。」",
    "カタカナとひらがなと漢字が混ざった文章。", "ﾊﾝｶｸｶﾀｶﾅもあります。", "全角数字：０１２３４５６７８９、全角英字：ＡＢＣ",
    "機械学習（きかいがくしゅう）は人工知能の一分野である。", "ラーメン、寿司、天ぷら…どれが好き？", "　全角スペースで始まる行。",
    "令和５年１２月３１日（日）午後１１時５９分", "『鬼滅の刃』の第２３巻が発売された。",
]
OTHER_SCRIPTS = [
    "Привет, как дела? Всё хорошо.", "Καλημέρα κόσμε, τι κάνεις;", "مرحبا بالعالم! كيف حالك؟ ١٢٣٤٥", "שלום עולם, מה שלומך?",
    "नमस्ते दुनिया, आप कैसे हैं? १२३", "สวัสดีชาวโลก ยินดีที่ได้รู้จัก", "안녕하세요 세계! 한국어 문장입니다.", "你好，世界！今天天气很好。",
    "Ünïcödé àccénts: café, naïve, façade, Straße, ÆØÅ æøå", "Tiếng Việt có dấu: Xin chào thế giới.",
    "cafe\u0301 vs café, n\u0303, a\u0308\u0301 combining marks", "Ⅻ Ⅷ ⅰⅱ ² ³ ½ ⅞ ① ⑳ 𝟘𝟙𝟚 𝐀𝐁𝐂 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "🇺🇸", "❤️", "1️⃣", "🧑🏿‍💻", "👩‍❤️‍💋‍👨", "🤖", "✨", "🔥🔥🔥", "🫠", "☕"]
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|endoftext|>", "<|reserved_special_token_7|>",
            "<|start_header_id|>", "<|eot_id|>", "<|begin_of", "<|end", "<<|eot_id|>>", "<|endoftext|><|endoftext|>"]
WHITESPACE = [" ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r\n\r\n", " \n", "\n ", "  \n\n  ",
              "\u00a0", "\u3000", "\u2009", "\u200a", "\u2028", "\u2029", "\u000b", "\u000c", "\u202f", "\u205f",
              " \t \n", "\r", "\n\n\n\n"]
CODE = [
    "int main(int argc, char** argv) {\n\tfor (int i = 0; i < argc; ++i) {\n\t\tprintf(\"%s\\n\", argv[i]);\n\t}\n\treturn 0;\n}\n",
    "def f(x):\n    if x > 0:\n        return x ** 2  # square\n    return -x\n\n\nprint(f(12345678))\n",
    "const add = (a, b) => a + b;\r\nexport default { add };\r\n",
    "#include <vector>\n\nstd::vector<int> v{1, 2, 3};   // trailing spaces   \n  \n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "<div class=\"x\">&nbsp;&lt;tag&gt;</div>\n<!-- comment -->",
    "    def method(self):\n\t\tpass\n        \n",
    "$ ls -la | grep '^d' && echo \"done\" >> log.txt 2>&1",
    "fn main() { let x: u64 = 0xFF_FF; println!(\"{x:?}\"); }",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
]


def random_number(rng):
    n = rng.randint(1, 24)
    digits = "".join(rng.choice("0123456789") for _ in range(n))
    style = rng.random()
    if style < 0.1:
        digits = digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    elif style < 0.15:
        digits = digits.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    elif style < 0.3:
        digits = f"{int(digits):,}"
    elif style < 0.4:
        digits = digits + "." + str(rng.randint(0, 999))
    return digits


def assigned_code_points():
    out = []
    for cp in range(0x20, 0x110000):
        if cp in EXCLUDED or 0xD800 <= cp <= 0xDFFF:
            continue
        cat = unicodedata.category(chr(cp))
        if cat in ("Cn", "Co", "Cs"):
            continue
        out.append(cp)
    return out


def random_chars(rng, pool, n):
    return "".join(chr(rng.choice(pool)) for _ in range(n))


def document(rng, pool):
    parts = []
    for _ in range(rng.randint(3, 30)):
        r = rng.random()
        if r < 0.22:
            parts.append(rng.choice(ENGLISH))
        elif r < 0.38:
            parts.append(rng.choice(JAPANESE))
        elif r < 0.48:
            parts.append(rng.choice(OTHER_SCRIPTS))
        elif r < 0.56:
            parts.append(rng.choice(CODE))
        elif r < 0.66:
            parts.append(random_number(rng))
        elif r < 0.73:
            parts.append("".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 4))))
        elif r < 0.78:
            parts.append(rng.choice(SPECIALS))
        elif r < 0.86:
            parts.append(random_chars(rng, pool, rng.randint(1, 12)))
        else:
            # English-like words of random letters, to reach pieces outside any cache.
            parts.append(" ".join("".join(rng.choice("etaoinshrdlucmfwypvbgkjqxz") for _ in range(rng.randint(1, 14)))
                                  for _ in range(rng.randint(1, 8))))
        parts.append(rng.choice(WHITESPACE) if rng.random() < 0.6 else rng.choice(["", " ", ", ", ". ", "'s ", "'LL "]))
    doc = "".join(parts)
    if rng.random() < 0.1:
        doc = rng.choice(WHITESPACE) + doc
    return doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20241123)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = assigned_code_points()
    fixed = ENGLISH + JAPANESE + OTHER_SCRIPTS + CODE + EMOJI + SPECIALS + WHITESPACE
    for d in fixed:
        print(json.dumps(d, ensure_ascii=False))
    for _ in range(args.docs):
        print(json.dumps(document(rng, pool), ensure_ascii=False))


if __name__ == "__main__":
    main()
