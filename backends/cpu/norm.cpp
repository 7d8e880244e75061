// RMSNorm (Zhang & Sennrich 2019) and LayerNorm (Ba et al. 2016) over the last dim, forward and
// backward; rows in parallel, weight/bias gradients split by columns (deterministic).
#include <cmath>

#include "backends/cpu/cpu_kernels.hpp"

namespace wb::cpu {

// y (N, C) = x * rstd * w, rstd (N) = 1 / sqrt(mean(x^2) + eps)
void rmsnorm_forward(op_call& c, int threads) {
  const float *x = c.in[0].f32(), *w = c.in[1].f32();
  float *y = c.out.f32(), *rstd = c.saved[0].f32();
  int64_t C = c.in[0].dim(-1), N = c.in[0].numel() / C;
  parallel_for(N, threads, [&](int64_t n) {
    const float* xr = x + n * C;
    float ss = 0;
    for (int64_t i = 0; i < C; ++i) ss += xr[i] * xr[i];
    float r = 1.0f / std::sqrt(ss / C + c.attrs.eps);
    rstd[n] = r;
    for (int64_t i = 0; i < C; ++i) y[n * C + i] = xr[i] * r * w[i];
  }, N * C);
}

// dx = rstd * (g - xhat * mean(g * xhat)), g = dy * w, xhat = x * rstd; dw += sum_n dy * xhat
void rmsnorm_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  const float *x = c.in[0].f32(), *w = c.in[1].f32(), *rstd = c.saved[0].f32(), *dy = dout.f32();
  int64_t C = c.in[0].dim(-1), N = c.in[0].numel() / C;
  if (din[0].defined()) {
    float* dx = din[0].f32();
    parallel_for(N, threads, [&](int64_t n) {
      const float *xr = x + n * C, *dyr = dy + n * C;
      float r = rstd[n], dot = 0;
      for (int64_t i = 0; i < C; ++i) dot += dyr[i] * w[i] * xr[i] * r;
      dot /= C;
      for (int64_t i = 0; i < C; ++i) dx[n * C + i] += r * (dyr[i] * w[i] - xr[i] * r * dot);
    }, N * C);
  }
  if (din[1].defined()) {
    float* dw = din[1].f32();
    parallel_chunks(C, threads, [&](int64_t i0, int64_t i1) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = i0; i < i1; ++i) dw[i] += dy[n * C + i] * x[n * C + i] * rstd[n];
    }, N * C);
  }
}

// y = (x - mean) * rstd * w + b; saved (2, N): mean, rstd
void layernorm_forward(op_call& c, int threads) {
  const float *x = c.in[0].f32(), *w = c.in[1].f32(), *b = c.in[2].f32();
  float* y = c.out.f32();
  int64_t C = c.in[0].dim(-1), N = c.in[0].numel() / C;
  float *mean = c.saved[0].f32(), *rstd = mean + N;
  parallel_for(N, threads, [&](int64_t n) {
    const float* xr = x + n * C;
    float m = 0, v = 0;
    for (int64_t i = 0; i < C; ++i) m += xr[i];
    m /= C;
    for (int64_t i = 0; i < C; ++i) v += (xr[i] - m) * (xr[i] - m);
    float r = 1.0f / std::sqrt(v / C + c.attrs.eps);
    mean[n] = m;
    rstd[n] = r;
    for (int64_t i = 0; i < C; ++i) y[n * C + i] = (xr[i] - m) * r * w[i] + b[i];
  }, N * C);
}

// As llm.c layernorm_backward: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w
void layernorm_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  const float *x = c.in[0].f32(), *w = c.in[1].f32(), *dy = dout.f32();
  int64_t C = c.in[0].dim(-1), N = c.in[0].numel() / C;
  const float *mean = c.saved[0].f32(), *rstd = mean + N;
  if (din[0].defined()) {
    float* dx = din[0].f32();
    parallel_for(N, threads, [&](int64_t n) {
      const float *xr = x + n * C, *dyr = dy + n * C;
      float m = mean[n], r = rstd[n], gm = 0, gx = 0;
      for (int64_t i = 0; i < C; ++i) {
        float g = dyr[i] * w[i];
        gm += g;
        gx += g * (xr[i] - m) * r;
      }
      gm /= C;
      gx /= C;
      for (int64_t i = 0; i < C; ++i) dx[n * C + i] += r * (dyr[i] * w[i] - gm - (xr[i] - m) * r * gx);
    }, N * C);
  }
  float* dw = din[1].defined() ? din[1].f32() : nullptr;
  float* db = din[2].defined() ? din[2].f32() : nullptr;
  if (dw || db)
    parallel_chunks(C, threads, [&](int64_t i0, int64_t i1) {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = i0; i < i1; ++i) {
          if (dw) dw[i] += dy[n * C + i] * (x[n * C + i] - mean[n]) * rstd[n];
          if (db) db[i] += dy[n * C + i];
        }
    }, N * C);
}

}  // namespace wb::cpu
