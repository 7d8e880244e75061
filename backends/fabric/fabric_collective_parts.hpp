// What fabric_collective's algorithm files share: the tag layout and the reduction loops.
// Tags carry the sender's rank, so receives match any source address.
//   collective: bit 63 = 0 | sender rank (19 bits) | operation sequence (24 bits) | message index (20 bits)
//   send/recv:  bit 63 = 1 | sender rank (19 bits) | user tag (16 bits) | per-(peer, tag) count (28 bits)
#pragma once
#include <cstddef>
#include <cstdint>

namespace wb::fabric_parts {

inline uint64_t collective_tag(int sender, uint32_t seq, uint64_t message) {
  return (uint64_t(sender) << 44) | (uint64_t(seq & 0xFFFFFF) << 20) | message;
}
inline uint64_t p2p_tag(int sender, uint32_t tag, uint32_t count) {
  return (uint64_t(1) << 63) | (uint64_t(sender) << 44) | (uint64_t(tag) << 28) | (count & 0xFFFFFFF);
}

// Blocks of 16 with a fixed trip count: gcc 12 at -O2 (very-cheap cost model) leaves the plain loop
// scalar but vectorizes these (AVX2 here), and the add runs at cache speed once the slice is in L2.
inline void add_into(float* __restrict dst, const float* __restrict src, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (size_t k = 0; k < 16; ++k) dst[i + k] += src[i + k];
  for (; i < n; ++i) dst[i] += src[i];
}

// dst += src[0] + src[1] + ... in one pass over dst, always in that order (so the sum's rounding is
// the same on every run): ((dst + src[0]) + src[1]) + ...
inline void add_all_into(float* __restrict dst, const float* const* src, int sources, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    float acc[16];
    for (size_t k = 0; k < 16; ++k) acc[k] = dst[i + k];
    for (int s = 0; s < sources; ++s) {
      const float* __restrict p = src[s] + i;
      for (size_t k = 0; k < 16; ++k) acc[k] += p[k];
    }
    for (size_t k = 0; k < 16; ++k) dst[i + k] = acc[k];
  }
  for (; i < n; ++i) {
    float acc = dst[i];
    for (int s = 0; s < sources; ++s) acc += src[s][i];
    dst[i] = acc;
  }
}

}  // namespace wb::fabric_parts
