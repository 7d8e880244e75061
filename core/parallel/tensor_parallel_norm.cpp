// tensor_parallel_grad_norm and tensor_parallel_sum_norms: one small all-reduce over the tp group.
#include "core/parallel/tensor_parallel_norm.hpp"

#include <algorithm>
#include <cmath>

#include "core/parallel/collective.hpp"

namespace wb {

grad_stats tensor_parallel_grad_norm(const model& m, const grad_stats& local) {
  collective* group = m.tensor_parallel();
  if (!group) return local;
  double replicated = 0;
  for (const parameter& p : m.params()) {
    if (p.shard.dim >= 0) continue;
    const float* g = p.v->grad().f32();
    for (int64_t i = 0, n = p.v->grad().numel(); i < n; ++i) replicated += double(g[i]) * double(g[i]);
  }
  // [split squares of this rank, not finite]; the replicated part is the same on every rank.
  float sums[2] = {float(local.norm * local.norm - replicated), local.finite ? 0.0f : 1.0f};
  group->all_reduce_sum(sums, 2);
  grad_stats out;
  out.finite = sums[1] == 0.0f && std::isfinite(sums[0]);
  out.norm = std::sqrt(std::max(0.0, double(sums[0]) + replicated));
  return out;
}

std::vector<chunk> tensor_parallel_uncounted_ranges(const model& m) {
  std::vector<chunk> out;
  if (!m.tensor_parallel() || m.tensor_parallel()->rank() == 0) return out;
  for (size_t i = 0; i < m.params().size(); ++i)
    if (const parameter& p = m.params()[i]; p.shard.dim < 0) out.push_back({m.param_offset(i), size_t(p.v->data.numel())});
  return out;
}

grad_stats tensor_parallel_sum_norms(const model& m, const grad_stats& part) {
  collective* group = m.tensor_parallel();
  if (!group) return part;
  // [squares, not finite]: one double travels as two floats (hi and its rounding error), as in zero1.cpp
  double squares = part.norm * part.norm;
  float hi = float(squares);
  float sums[3] = {hi, float(squares - double(hi)), part.finite ? 0.0f : 1.0f};
  group->all_reduce_sum(sums, 3);
  double total = double(sums[0]) + double(sums[1]);
  return {std::sqrt(std::max(0.0, total)), sums[2] == 0.0f && std::isfinite(total)};
}

}  // namespace wb
