// Pre-tokenizer pieces on tricky inputs. The expected pieces are what the regexes give in
// JavaScript (node 20, transformers.js's rewrite of (?i:...)), except in the last test case, where
// wb follows HF tokenizers' White_Space \s (docs/tokenizer.md).
#include <catch2/catch.hpp>

#include "core/tokenizer/pretokenizer.hpp"

using namespace wb;
using pieces = std::vector<std::string_view>;

TEST_CASE("the GPT-2 pattern splits words, contractions, numbers, punctuation and white space", "[tokenizer][pretokenizer]") {
  auto p = split_pattern::gpt2;
  CHECK(pretokenize("Hello world", p) == pieces{"Hello", " world"});
  CHECK(pretokenize("I'LL see you're 'S", p) == pieces{"I", "'", "LL", " see", " you", "'re", " '", "S"});
  CHECK(pretokenize("  leading and trailing  ", p) == pieces{" ", " leading", " and", " trailing", "  "});
  CHECK(pretokenize("a\n\n  b", p) == pieces{"a", "\n\n ", " b"});
  CHECK(pretokenize("x \n\ty", p) == pieces{"x", " \n", "\t", "y"});
  CHECK(pretokenize("1234567 ab12c", p) == pieces{"1234567", " ab", "12", "c"});
  CHECK(pretokenize("(hello) [x]!!\n\nok", p) == pieces{"(", "hello", ")", " [", "x", "]!!", "\n", "\n", "ok"});
  CHECK(pretokenize("日本語のテキスト、です。", p) == pieces{"日本語のテキスト", "、", "です", "。"});
  CHECK(pretokenize("price: $12.50\r\n", p) == pieces{"price", ":", " $", "12", ".", "50", "\r\n"});
  CHECK(pretokenize("emoji 👍🏽 done", p) == pieces{"emoji", " 👍🏽", " done"});
  CHECK(pretokenize("tab\tsep", p) == pieces{"tab", "\t", "sep"});
  CHECK(pretokenize("   ", p) == pieces{"   "});
  CHECK(pretokenize("don't", p) == pieces{"don", "'t"});
  CHECK(pretokenize("\u3000全角", p) == pieces{"\u3000", "全角"});
  CHECK(pretokenize("", p).empty());
}

TEST_CASE("the Llama 3 pattern groups three digits, folds contraction case and keeps a leading mark with a word",
          "[tokenizer][pretokenizer]") {
  auto p = split_pattern::llama3;
  CHECK(pretokenize("Hello world", p) == pieces{"Hello", " world"});
  CHECK(pretokenize("I'LL see you're 'S", p) == pieces{"I", "'LL", " see", " you", "'re", " '", "S"});
  CHECK(pretokenize("  leading and trailing  ", p) == pieces{" ", " leading", " and", " trailing", "  "});
  CHECK(pretokenize("a\n\n  b", p) == pieces{"a", "\n\n", " ", " b"});
  CHECK(pretokenize("x \n\ty", p) == pieces{"x", " \n", "\ty"});
  CHECK(pretokenize("1234567 ab12c", p) == pieces{"123", "456", "7", " ab", "12", "c"});
  CHECK(pretokenize("(hello) [x]!!\n\nok", p) == pieces{"(hello", ")", " [", "x", "]!!\n\n", "ok"});
  CHECK(pretokenize("日本語のテキスト、です。", p) == pieces{"日本語のテキスト", "、です", "。"});
  CHECK(pretokenize("price: $12.50\r\n", p) == pieces{"price", ":", " $", "12", ".", "50", "\r\n"});
  CHECK(pretokenize("emoji 👍🏽 done", p) == pieces{"emoji", " 👍🏽", " done"});
  CHECK(pretokenize("tab\tsep", p) == pieces{"tab", "\tsep"});
  CHECK(pretokenize("   ", p) == pieces{"   "});
  CHECK(pretokenize("don't", p) == pieces{"don", "'t"});
  CHECK(pretokenize("\u3000全角", p) == pieces{"\u3000全角"});
}

TEST_CASE("invalid UTF-8 bytes are one punctuation-like character each and every byte lands in a piece",
          "[tokenizer][pretokenizer]") {
  CHECK(pretokenize("a\xFF\xFE b", split_pattern::llama3) == pieces{"a", "\xFF\xFE", " b"});
  CHECK(pretokenize("\xE6\x97 x", split_pattern::gpt2) == pieces{"\xE6\x97", " x"});
  CHECK(pretokenize("\xC3word", split_pattern::llama3) == pieces{"\xC3word"});
}

TEST_CASE("white space is Unicode White_Space and 'ſ is a contraction, as in HF tokenizers rather than JavaScript",
          "[tokenizer][pretokenizer]") {
  // U+0085 NEXT LINE is White_Space (JavaScript's \s leaves it out); U+FEFF is not (JavaScript's \s has it).
  CHECK(pretokenize("a \u0085b", split_pattern::llama3) == pieces{"a", " ", "\u0085b"});
  CHECK(pretokenize("x \uFEFF\uFEFFy", split_pattern::gpt2) == pieces{"x", " \uFEFF\uFEFF", "y"});
  CHECK(pretokenize("it'\u017F\u017F", split_pattern::llama3) == pieces{"it", "'\u017F", "\u017F"});
}
