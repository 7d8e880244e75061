// The gradient half and the parameter half of a ZeRO-1 step. The sum of squares is a double per
// rank, but the collective moves floats: it travels as two floats (the rounded value and its
// rounding error), so the global norm keeps about 48 bits instead of 24.
#include "core/parallel/zero1.hpp"

#include <algorithm>
#include <cmath>

namespace wb {

std::vector<chunk> shard_parts_of(chunk range, int64_t P, int world) {
  std::vector<chunk> parts;
  const size_t lo = range.begin, hi = lo + range.size;
  for (int r = 0; r < world; ++r) {
    chunk s = chunk_range(size_t(P), world, r);
    size_t begin = std::clamp(s.begin, lo, hi), end = std::clamp(s.begin + s.size, lo, hi);
    parts.push_back({begin - lo, end - begin});
  }
  return parts;
}


zero1_gradients zero1_reduce_gradients(collective& c, const tensor& grads, double local_loss, int threads,
                                       const std::vector<chunk>& uncounted) {
  c.reduce_scatter_sum(grads.f32(), size_t(grads.numel()));
  return zero1_average_shard(c, grads, local_loss, threads, uncounted);
}

zero1_gradients zero1_average_shard(collective& c, const tensor& grads, double local_loss, int threads,
                                    const std::vector<chunk>& uncounted) {
  chunk s = zero1_shard(c, grads.numel());
  float* g = grads.f32();
  float scale = 1.0f / float(c.world());
  for (size_t i = s.begin; i < s.begin + s.size; ++i) g[i] *= scale;
  return zero_shard_stats(c, grads.reshape({grads.numel()}).slice(int64_t(s.begin), int64_t(s.begin + s.size)), s,
                          local_loss, threads, uncounted);
}

zero1_gradients zero_shard_stats(collective& c, const tensor& shard_grads, chunk s, double local_loss, int threads,
                                 const std::vector<chunk>& uncounted) {
  // grad_norm's fixed-order sum over this shard (an empty shard contributes 0).
  double squares = 0;
  bool finite = true;
  if (s.size > 0) {
    const float* g = shard_grads.f32();
    grad_stats local = grad_norm(shard_grads, threads);
    squares = local.norm * local.norm;
    finite = local.finite;
    for (const chunk& u : uncounted)  // the part of an uncounted range inside this shard
      for (size_t i = std::max(u.begin, s.begin), e = std::min(u.begin + u.size, s.begin + s.size); i < e; ++i)
        squares -= double(g[i - s.begin]) * double(g[i - s.begin]);
  }
  float hi = float(squares);
  float exchange[4] = {hi, float(squares - double(hi)), float(local_loss), finite ? 0.0f : 1.0f};
  c.all_reduce_sum(exchange, 4);
  zero1_gradients r;
  r.loss = double(exchange[2]) / double(c.world());
  double total = double(exchange[0]) + double(exchange[1]);
  r.stats.finite = exchange[3] == 0.0f && std::isfinite(total);
  r.stats.norm = std::sqrt(total);
  return r;
}

void zero1_gather_parameters(collective& c, const tensor& params) { c.all_gather(params.f32(), size_t(params.numel())); }

}  // namespace wb
