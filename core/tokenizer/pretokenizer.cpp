// Hand-written matchers for the GPT-2 and Llama 3 split regexes. Each function is one regex; its
// comment lists the alternatives in the order the regex tries them. Every position matches some
// alternative, so pieces are contiguous (regexSplit with behaviour Isolated never leaves gaps).
#include "core/tokenizer/pretokenizer.hpp"

#include <array>

#include "core/tokenizer/unicode_tables.hpp"
#include "core/tokenizer/utf8.hpp"

namespace wb {

// Source: GPT-2 encoder.py (openai/gpt-2, 2019) and HF tokenizers ByteLevel pre-tokenizer.
const char* const gpt2_split_regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Source: meta-llama/Meta-Llama-3-8B tokenizer.json, pre_tokenizer.pretokenizers[0].pattern.Regex.
const char* const llama3_split_regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const char* split_pattern_name(split_pattern p) { return p == split_pattern::gpt2 ? "gpt2" : "llama3"; }

namespace {

struct scanner {
  const unsigned char* s;
  size_t n;

  struct ch {
    uint32_t cp;
    uint8_t len;
    char_class cls;
  };
  ch at(size_t i) const {
    if (s[i] < 0x80) {
      static const auto ascii = [] {
        std::array<char_class, 128> t{};
        for (uint32_t c = 0; c < 128; ++c) t[c] = unicode_class(c);
        return t;
      }();
      return {s[i], 1, ascii[s[i]]};
    }
    utf8_char c = utf8_decode(s + i, s + n);
    return {c.cp, c.len, c.valid ? unicode_class(c.cp) : char_class::other};
  }
  size_t skip(size_t i, char_class cls, size_t max_chars = SIZE_MAX) const {
    for (size_t k = 0; i < n && k < max_chars; ++k) {
      ch c = at(i);
      if (c.cls != cls) break;
      i += c.len;
    }
    return i;
  }
  // 'x where x is one of the contraction suffixes; returns the end or 0.
  size_t contraction(size_t i, bool fold_case) const {
    auto lower = [&](size_t k) -> uint32_t {
      if (k >= n) return 0;
      uint32_t c = s[k];
      if (fold_case && c >= 'A' && c <= 'Z') c += 'a' - 'A';
      return c;
    };
    uint32_t a = lower(i + 1), b = lower(i + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    // U+017F LATIN SMALL LETTER LONG S case-folds to 's' (CaseFolding.txt), bytes C5 BF.
    if (fold_case && a == 0xC5 && b == 0xBF) return i + 3;
    if ((a == 'r' || a == 'v') && b == 'e') return i + 3;
    if (a == 'l' && b == 'l') return i + 3;
    return 0;
  }
  // A maximal run of white space starting at i; `before_last` is where its last character starts.
  size_t white_space_run(size_t i, size_t& before_last, size_t& after_last_newline) const {
    before_last = i;
    after_last_newline = 0;
    while (i < n) {
      ch c = at(i);
      if (c.cls != char_class::white_space) break;
      before_last = i;
      i += c.len;
      if (c.cp == '\r' || c.cp == '\n') after_last_newline = i;
    }
    return i;
  }
};

// 's|'t|'re|'ve|'m|'ll|'d | ' ?\p{L}+' | ' ?\p{N}+' | ' ?[^\s\p{L}\p{N}]+' | \s+(?!\S) | \s+
size_t next_gpt2(const scanner& sc, size_t i) {
  if (sc.s[i] == '\'')
    if (size_t e = sc.contraction(i, false)) return e;
  auto c0 = sc.at(i);
  size_t start = i;
  char_class cls = c0.cls;
  if (c0.cp == ' ' && i + 1 < sc.n) {
    auto c1 = sc.at(i + 1);
    if (c1.cls != char_class::white_space) start = i + 1, cls = c1.cls;
  }
  if (cls != char_class::white_space) return sc.skip(start, cls);
  size_t before_last, after_newline;
  size_t end = sc.white_space_run(i, before_last, after_newline);
  if (end == sc.n || before_last == i) return end;  // \s+(?!\S) at the end, or a lone \s+
  return before_last;                                // \s+(?!\S) leaves the last one to the next piece
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3} | ' ?[^\s\p{L}\p{N}]+[\r\n]*'
// | \s*[\r\n]+ | \s+(?!\S) | \s+
size_t next_llama3(const scanner& sc, size_t i) {
  if (sc.s[i] == '\'')
    if (size_t e = sc.contraction(i, true)) return e;
  auto c0 = sc.at(i);
  if (c0.cls == char_class::letter) return sc.skip(i, char_class::letter);
  if (c0.cls != char_class::number && c0.cp != '\r' && c0.cp != '\n' && i + c0.len < sc.n &&
      sc.at(i + c0.len).cls == char_class::letter)
    return sc.skip(i + c0.len, char_class::letter);
  if (c0.cls == char_class::number) return sc.skip(i, char_class::number, 3);
  size_t start = SIZE_MAX;
  if (c0.cls == char_class::other) start = i;
  else if (c0.cp == ' ' && i + 1 < sc.n && sc.at(i + 1).cls == char_class::other) start = i + 1;
  if (start != SIZE_MAX) {
    size_t e = sc.skip(start, char_class::other);
    while (e < sc.n && (sc.s[e] == '\r' || sc.s[e] == '\n')) ++e;
    return e;
  }
  size_t before_last, after_newline;
  size_t end = sc.white_space_run(i, before_last, after_newline);
  if (after_newline) return after_newline;           // \s*[\r\n]+ stops after the run's last newline
  if (end == sc.n || before_last == i) return end;   // \s+(?!\S) at the end, or a lone \s+
  return before_last;
}

}  // namespace

size_t pretokenize_next(std::string_view text, size_t pos, split_pattern p) {
  scanner sc{reinterpret_cast<const unsigned char*>(text.data()), text.size()};
  return p == split_pattern::gpt2 ? next_gpt2(sc, pos) : next_llama3(sc, pos);
}

std::vector<std::string_view> pretokenize(std::string_view text, split_pattern p) {
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < text.size();) {
    size_t e = pretokenize_next(text, i, p);
    pieces.push_back(text.substr(i, e - i));
    i = e;
  }
  return pieces;
}

}  // namespace wb
