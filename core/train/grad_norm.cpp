// Gradient norm, finiteness and clipping over a flat gradient arena. The sum of squares runs over
// fixed 64Ki-element blocks, each in 8 double lanes (vectorised), the block sums then added in
// block order: the result depends on the data only, never on the thread count.
#include "core/train/grad_norm.hpp"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace wb {
namespace {

constexpr int64_t block = 1 << 16;

double block_sum_squares(const float* g, int64_t n) {
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += double(g[i + k]) * double(g[i + k]);
  for (int k = 0; i < n; ++i, ++k) acc[k] += double(g[i]) * double(g[i]);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// f(begin, end) on up to `threads` contiguous chunks of [0, n), chunk boundaries on blocks.
template <class F>
void split(int64_t n, int threads, F f) {
  int64_t blocks = (n + block - 1) / block;
  int team = int(std::clamp<int64_t>(blocks, 1, std::max(threads, 1)));
  std::vector<std::thread> pool;
  for (int t = 1; t < team; ++t) pool.emplace_back(f, blocks * t / team, blocks * (t + 1) / team);
  f(0, blocks / team);
  for (auto& th : pool) th.join();
}

}  // namespace

grad_stats grad_norm(const tensor& grads, int threads) {
  const float* g = grads.f32();
  int64_t n = grads.numel();
  std::vector<double> sums((n + block - 1) / block);
  split(n, threads, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) sums[b] = block_sum_squares(g + b * block, std::min(block, n - b * block));
  });
  double s = 0;
  for (double x : sums) s += x;
  grad_stats r;
  r.finite = std::isfinite(s);  // any NaN or Inf element makes the sum non-finite
  r.norm = std::sqrt(s);
  return r;
}

double clip_grad_norm(const tensor& grads, double norm, double clip, int threads) {
  if (clip <= 0 || norm <= clip) return 1.0;
  double f = clip / (norm + 1e-6);  // the 1e-6 of torch.nn.utils.clip_grad_norm_
  float ff = float(f);
  float* g = grads.f32();
  int64_t n = grads.numel();
  split(n, threads, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0 * block, e = std::min(n, b1 * block); i < e; ++i) g[i] *= ff;
  });
  return f;
}

}  // namespace wb
