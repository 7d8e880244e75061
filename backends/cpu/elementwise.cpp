// Elementwise ops: add (with suffix broadcast), mul, swiglu and gelu, forward and backward.
// Broadcast reductions give each thread its own output columns, so they are deterministic.
#include <cmath>

#include "backends/cpu/cpu_kernels.hpp"
#include "backends/cpu/vec_math.hpp"

namespace wb::cpu {

// out (..) = a (..) + b (S), b repeating over a's leading dims
void add_forward(op_call& c, int threads) {
  const float *a = c.in[0].f32(), *b = c.in[1].f32();
  float* out = c.out.f32();
  int64_t n = c.in[0].numel(), m = c.in[1].numel();
  parallel_for(n / m, threads, [&](int64_t r) {
    for (int64_t j = 0; j < m; ++j) out[r * m + j] = a[r * m + j] + b[j];
  }, n);
}

void add_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  const float* dy = dout.f32();
  int64_t n = dout.numel(), m = c.in[1].numel();
  if (din[0].defined()) {
    float* da = din[0].f32();
    parallel_for(n, threads, [&](int64_t i) { da[i] += dy[i]; });
  }
  if (din[1].defined()) {
    float* db = din[1].f32();
    parallel_chunks(m, threads, [&](int64_t j0, int64_t j1) {
      for (int64_t r = 0; r < n / m; ++r)
        for (int64_t j = j0; j < j1; ++j) db[j] += dy[r * m + j];
    }, n);
  }
}

void mul_forward(op_call& c, int threads) {
  const float *a = c.in[0].f32(), *b = c.in[1].f32();
  float* out = c.out.f32();
  parallel_for(c.out.numel(), threads, [&](int64_t i) { out[i] = a[i] * b[i]; });
}

void mul_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  const float *a = c.in[0].f32(), *b = c.in[1].f32(), *dy = dout.f32();
  float* da = din[0].defined() ? din[0].f32() : nullptr;
  float* db = din[1].defined() ? din[1].f32() : nullptr;
  parallel_for(dout.numel(), threads, [&](int64_t i) {
    if (da) da[i] += dy[i] * b[i];
    if (db) db[i] += dy[i] * a[i];
  });
}

// swiglu (Shazeer 2020, "GLU Variants Improve Transformer", eq. 5 without the projections):
// out = silu(a) * b, silu(a) = a * sigmoid(a)
void swiglu_forward(op_call& c, int threads) {
  const float *a = c.in[0].f32(), *b = c.in[1].f32();
  float* out = c.out.f32();
  parallel_for(c.out.numel(), threads, [&](int64_t i) { out[i] = a[i] / (1.0f + exp_approx(-a[i])) * b[i]; });
}

void swiglu_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  const float *a = c.in[0].f32(), *b = c.in[1].f32(), *dy = dout.f32();
  // Both gradients are wanted in a model; a throwaway buffer keeps the loop branch-free (vectorised).
  tensor spare = din[0].defined() && din[1].defined() ? tensor() : tensor({dout.numel()}, mem_category::temporaries);
  float* da = din[0].defined() ? din[0].f32() : spare.f32();
  float* db = din[1].defined() ? din[1].f32() : spare.f32();
  parallel_chunks(dout.numel(), threads, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float s = 1.0f / (1.0f + exp_approx(-a[i]));
      da[i] += dy[i] * b[i] * s * (1.0f + a[i] * (1.0f - s));
      db[i] += dy[i] * a[i] * s;
    }
  }, dout.numel());
}

// GELU, tanh approximation as GPT-2 uses it (Hendrycks & Gimpel 2016, eq. in section 2;
// openai/gpt-2 model.py gelu): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
constexpr float gelu_k = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float gelu_c = 0.044715f;

void gelu_forward(op_call& c, int threads) {
  const float* x = c.in[0].f32();
  float* out = c.out.f32();
  parallel_for(c.out.numel(), threads, [&](int64_t i) {
    float v = x[i];
    out[i] = 0.5f * v * (1.0f + std::tanh(gelu_k * (v + gelu_c * v * v * v)));
  });
}

void gelu_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  if (!din[0].defined()) return;
  const float *x = c.in[0].f32(), *dy = dout.f32();
  float* dx = din[0].f32();
  parallel_for(dout.numel(), threads, [&](int64_t i) {
    float v = x[i], u = gelu_k * (v + gelu_c * v * v * v), t = std::tanh(u);
    float du = gelu_k * (1.0f + 3.0f * gelu_c * v * v);
    dx[i] += dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
  });
}

}  // namespace wb::cpu
