// Softmax over the last dim, and the fused cross-entropy (logits -> mean loss) with a stable
// log-sum-exp: loss_n = lse(logits_n) - logits_n[target_n]; dlogits = (softmax - onehot) / count.
// Targets of -1 are ignored (not counted in the mean).
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "backends/cpu/cpu_kernels.hpp"
#include "backends/cpu/vec_math.hpp"

namespace wb::cpu {

// y (N, V) = exp(x - lse(x))
void softmax_forward(op_call& c, int threads) {
  const float* x = c.in[0].f32();
  float* y = c.out.f32();
  int64_t V = c.in[0].dim(-1), N = c.in[0].numel() / V;
  parallel_for(N, threads, [&](int64_t n) {
    float l = log_sum_exp(x + n * V, V);
    for (int64_t j = 0; j < V; ++j) y[n * V + j] = exp_approx(x[n * V + j] - l);
  }, N * V);
}

// dx = y * (dy - sum(dy * y))
void softmax_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  if (!din[0].defined()) return;
  const float *y = c.out.f32(), *dy = dout.f32();
  float* dx = din[0].f32();
  int64_t V = c.in[0].dim(-1), N = c.in[0].numel() / V;
  parallel_for(N, threads, [&](int64_t n) {
    float dot = 0;
    for (int64_t j = 0; j < V; ++j) dot += dy[n * V + j] * y[n * V + j];
    for (int64_t j = 0; j < V; ++j) dx[n * V + j] += y[n * V + j] * (dy[n * V + j] - dot);
  }, N * V);
}

// out (1) = mean over counted rows of lse_n - logits[n, target_n]; saved lse (N)
void cross_entropy_forward(op_call& c, int threads) {
  const float* x = c.in[0].f32();
  const int32_t* tg = c.in[1].i32();
  float* lse = c.saved[0].f32();
  int64_t N = c.in[0].dim(0), V = c.in[0].dim(1);
  for (int64_t n = 0; n < N; ++n)
    if (tg[n] < -1 || tg[n] >= V) throw std::out_of_range(fmt::format("Invalid target {}: expected -1 to {}", tg[n], V - 1));
  parallel_for(N, threads, [&](int64_t n) { lse[n] = log_sum_exp(x + n * V, V); }, N * V);
  double sum = 0;  // in row order: deterministic
  int64_t count = 0;
  for (int64_t n = 0; n < N; ++n)
    if (tg[n] >= 0) {
      sum += double(lse[n]) - double(x[n * V + tg[n]]);
      ++count;
    }
  c.out.f32()[0] = count ? float(sum / double(count)) : 0.0f;
}

void cross_entropy_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  if (!din[0].defined()) return;
  const float *x = c.in[0].f32(), *lse = c.saved[0].f32();
  const int32_t* tg = c.in[1].i32();
  float* dx = din[0].f32();
  int64_t N = c.in[0].dim(0), V = c.in[0].dim(1), count = 0;
  for (int64_t n = 0; n < N; ++n) count += tg[n] >= 0;
  if (!count) return;
  float scale = dout.f32()[0] / float(count);
  parallel_for(N, threads, [&](int64_t n) {
    if (tg[n] < 0) return;
    const float* xr = x + n * V;
    float* dr = dx + n * V;
    float l = lse[n];
    for (int64_t j = 0; j < V; ++j) dr[j] += scale * exp_approx(xr[j] - l);
    dx[n * V + tg[n]] -= scale;
  }, N * V);
}

}  // namespace wb::cpu
