// Rotary position embedding (Su et al. 2021, RoFormer) in the rotate-half convention of Hugging
// Face LlamaRotaryEmbedding / apply_rotary_pos_emb (transformers modeling_llama.py): pair i of a
// head is (x[i], x[i + HD/2]), not the interleaved (x[2i], x[2i+1]) of Meta's complex form.
// angle(t, i) = t * theta^(-2i / HD), positions t = 0..T-1.
#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_kernels.hpp"

namespace wb::cpu {
namespace {

// cos and sin tables (2, T, HD/2), computed in double then rounded once; an accounted temporary.
// angle(t, i) = (t0 + d) w with t0 a multiple of 64 and d < 64: cos and sin by the angle-addition
// formulas from sincos(t0 w) and sincos(d w), so each frequency takes T/64 + 64 sincos calls
// instead of T (at T = 512 the per-call tables were half of RoPE's time). Each value is within a
// few double ulps of sincos(t w): far below the float rounding that follows.
tensor rope_tables(int64_t T, int64_t half, double theta) {
  constexpr int64_t span = 64;
  tensor tables({2, T, half}, mem_category::temporaries);
  float *cs = tables.f32(), *sn = cs + T * half;
  double near_cos[span], near_sin[span];
  for (int64_t i = 0; i < half; ++i) {
    double inv_freq = std::pow(theta, -2.0 * double(i) / double(2 * half));
    for (int64_t d = 0; d < span && d < T; ++d) {
      near_cos[d] = std::cos(double(d) * inv_freq);
      near_sin[d] = std::sin(double(d) * inv_freq);
    }
    for (int64_t t0 = 0; t0 < T; t0 += span) {
      double c0 = std::cos(double(t0) * inv_freq), s0 = std::sin(double(t0) * inv_freq);
      for (int64_t t = t0; t < std::min(T, t0 + span); ++t) {
        double c = near_cos[t - t0], s = near_sin[t - t0];
        cs[t * half + i] = float(c0 * c - s0 * s);
        sn[t * half + i] = float(s0 * c + c0 * s);
      }
    }
  }
  return tables;
}

// y = R(sign * angle) x on every head of every position; sign -1 is the backward (R^T).
void rotate(const float* x, float* y, bool accumulate, const tensor& shape_of, double theta, float sign, int threads) {
  int64_t B = shape_of.dim(0), T = shape_of.dim(1), NH = shape_of.dim(2), HD = shape_of.dim(3), half = HD / 2;
  tensor tables = rope_tables(T, half, theta);
  const float *cs = tables.f32(), *sn = cs + T * half;
  parallel_for(B * T, threads, [&](int64_t bt) {
    int64_t t = bt % T;
    for (int64_t h = 0; h < NH; ++h) {
      const float* xr = x + (bt * NH + h) * HD;
      float* yr = y + (bt * NH + h) * HD;
      for (int64_t i = 0; i < half; ++i) {
        float co = cs[t * half + i], si = sign * sn[t * half + i];
        float y1 = xr[i] * co - xr[i + half] * si, y2 = xr[i + half] * co + xr[i] * si;
        if (accumulate) {
          yr[i] += y1;
          yr[i + half] += y2;
        } else {
          yr[i] = y1;
          yr[i + half] = y2;
        }
      }
    }
  }, shape_of.numel());
}

}  // namespace

// y (B, T, NH, HD) = x rotated by position
void rope_forward(op_call& c, int threads) {
  rotate(c.in[0].f32(), c.out.f32(), false, c.in[0], c.attrs.rope_theta, 1.0f, threads);
}

void rope_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  if (din[0].defined()) rotate(dout.f32(), din[0].f32(), true, c.in[0], c.attrs.rope_theta, -1.0f, threads);
}

}  // namespace wb::cpu
