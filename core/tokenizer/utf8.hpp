// UTF-8 decoding for the tokenizer, strict per RFC 3629 / Unicode 15 table 3-7: overlong forms,
// surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated sequences are invalid.
// An invalid sequence is reported one byte at a time so that every byte can still be encoded.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wb {

struct utf8_char {
  uint32_t cp;   // the code point; for an invalid byte, 0x110000 + the byte
  uint8_t len;   // bytes consumed: 1..4 (1 for an invalid byte)
  bool valid;
};

inline utf8_char utf8_decode(const unsigned char* p, const unsigned char* end) {
  unsigned b0 = p[0];
  if (b0 < 0x80) return {b0, 1, true};
  auto bad = utf8_char{0x110000u + b0, 1, false};
  auto cont = [&](ptrdiff_t k) { return p + k < end && (p[k] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return bad;
    return {((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu), 2, true};
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return bad;
    if (b0 == 0xE0 && p[1] < 0xA0) return bad;  // overlong
    if (b0 == 0xED && p[1] > 0x9F) return bad;  // surrogate
    return {((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu), 3, true};
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return bad;
    if (b0 == 0xF0 && p[1] < 0x90) return bad;  // overlong
    if (b0 == 0xF4 && p[1] > 0x8F) return bad;  // above U+10FFFF
    return {((b0 & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu), 4, true};
  }
  return bad;
}

// Appends the UTF-8 form of a valid code point.
void utf8_append(std::string& out, uint32_t cp);

// The number of bytes of `s` that are not part of a valid UTF-8 sequence.
size_t utf8_invalid_bytes(std::string_view s);

}  // namespace wb
