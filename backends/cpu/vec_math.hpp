// exp for the CPU kernels, written so GCC vectorises the loops that call it (std::exp is a libm
// call per element). The same arithmetic runs in vector bodies and scalar tails, and the
// reductions below sum in a fixed lane order, so results depend only on the data, never on
// alignment: recomputed attention probabilities stay bit-identical. Internal to backends/cpu.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace wb::cpu {

// Cephes expf (Moshier, Cephes Math Library, expf.c): range reduction by ln 2 split in two, a
// degree-6 polynomial; about 1 ulp on [-87, 88]. NaN in, NaN out; saturates below -87.3.
inline float exp_approx(float x) {
  x = x > 88.3762626647949f ? 88.3762626647949f : x;  // comparisons false for NaN: NaN stays
  x = x < -87.3365447504019f ? -87.3365447504019f : x;
  float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  x = x - n * 0.693359375f + n * 2.12194440e-4f;
  float z = x * x;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  int32_t bits = (int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return y * scale;
}

// out[j] = exp(x[j] - shift); out may be x.
inline void exp_shifted(const float* x, float* out, int64_t n, float shift) {
  for (int64_t j = 0; j < n; ++j) out[j] = exp_approx(x[j] - shift);
}

// Sum of x[0..n) in 8 interleaved lanes (a fixed order).
inline float lane_sum(const float* x, int64_t n) {
  float acc[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] += x[j + k];
  for (int k = 0; j < n; ++j, ++k) acc[k] += x[j];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Dot product of x and y over [0, n) in 8 interleaved lanes (a fixed order, as lane_sum).
inline float lane_dot(const float* x, const float* y, int64_t n) {
  float acc[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] += x[j + k] * y[j + k];
  for (int k = 0; j < n; ++j, ++k) acc[k] += x[j] * y[j];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

inline float lane_max(const float* x, int64_t n) {
  float acc[8];
  std::fill(acc, acc + 8, -3.4028234e38f);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) acc[k] = std::max(acc[k], x[j + k]);
  for (int k = 0; j < n; ++j, ++k) acc[k] = std::max(acc[k], x[j]);
  return std::max(std::max(std::max(acc[0], acc[1]), std::max(acc[2], acc[3])),
                  std::max(std::max(acc[4], acc[5]), std::max(acc[6], acc[7])));
}

// log(sum(exp(x))) with the max shifted out: finite for any finite x.
float log_sum_exp(const float* x, int64_t n);

}  // namespace wb::cpu
