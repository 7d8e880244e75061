// CRC-32C, reflected polynomial 0x82F63B78 (RFC 3720 §12.1). Check value: crc32c("123456789")
// = 0xE3069283.
#include "core/util/crc32c.hpp"

#include <array>
#include <cstring>
#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace wb {

namespace {
std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(__SSE4_2__)
  uint64_t c = crc;
  while (size >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    size -= 8;
  }
  crc = uint32_t(c);
  while (size--) crc = _mm_crc32_u8(crc, *p++);
#else
  static const auto table = make_table();
  while (size--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
#endif
  return ~crc;
}

}  // namespace wb
