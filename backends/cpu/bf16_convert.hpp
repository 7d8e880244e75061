// fp32 <-> bf16 loops for the CPU kernels. Zen 3 has AVX2 but no BF16 instructions, so bf16 is a
// storage format here: kernels widen bf16 operands to fp32 and compute in fp32. The rounding is
// core/tensor/dtype.cpp's bf16_from_float (nearest even, NaN kept quiet), written as branch-free
// integer arithmetic GCC vectorises; both give the same bits (tests/backends/cpu/convert_test.cpp).
// Internal to backends/cpu.
#pragma once
#include <bit>
#include <cstdint>

namespace wb::cpu {

inline void bf16_round(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u = std::bit_cast<uint32_t>(x[i]);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t quiet_nan = (u >> 16) | 0x0040u;
    y[i] = uint16_t((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
  }
}

// x rounded to bf16 precision, kept in fp32 (what bf16_round then bf16_widen give).
inline void bf16_round_in_place(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u = std::bit_cast<uint32_t>(x[i]);
    uint32_t rounded = ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16) << 16;
    uint32_t quiet_nan = u | 0x00400000u;
    x[i] = std::bit_cast<float>((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan & 0xffff0000u : rounded);
  }
}

inline void bf16_widen(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::bit_cast<float>(uint32_t(x[i]) << 16);
}

}  // namespace wb::cpu
