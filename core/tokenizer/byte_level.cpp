// The byte-level alphabet as two 256/324-entry tables built once.
#include "core/tokenizer/byte_level.hpp"

#include <array>

#include "core/tokenizer/utf8.hpp"

namespace wb {
namespace {

struct tables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 0x144> to_byte{};  // every mapped code point is below U+0144
  tables() {
    to_byte.fill(-1);
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? uint32_t(b) : next++;
      to_byte[to_cp[b]] = int16_t(b);
    }
  }
};

const tables& table() {
  static const tables t;
  return t;
}

}  // namespace

uint32_t byte_to_unicode(uint8_t b) { return table().to_cp[b]; }

int unicode_to_byte(uint32_t cp) { return cp < table().to_byte.size() ? table().to_byte[cp] : -1; }

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8_append(out, byte_to_unicode(b));
  return out;
}

std::optional<std::string> byte_level_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto p = reinterpret_cast<const unsigned char*>(text.data()), end = p + text.size();
  while (p < end) {
    utf8_char c = utf8_decode(p, end);
    int b = c.valid ? unicode_to_byte(c.cp) : -1;
    if (b < 0) return std::nullopt;
    out += char(b);
    p += c.len;
  }
  return out;
}

}  // namespace wb
