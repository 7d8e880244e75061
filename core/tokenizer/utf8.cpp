// UTF-8 encoding of one code point, and counting the bytes a strict decoder rejects.
#include "core/tokenizer/utf8.hpp"

namespace wb {

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

size_t utf8_invalid_bytes(std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data()), end = p + s.size();
  size_t bad = 0;
  while (p < end) {
    utf8_char c = utf8_decode(p, end);
    bad += !c.valid;
    p += c.len;
  }
  return bad;
}

}  // namespace wb
