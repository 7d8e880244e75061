#include "core/parallel/sequence_parallel_grads.hpp"

#include <algorithm>
#include <numeric>

namespace wb {

void sequence_parallel_sum_grads(const model& m, const std::vector<size_t>& params) {
  if (!m.sequence_parallel()) return;
  int64_t total = 0;
  for (size_t i : params)
    if (m.params()[i].shard.dim < 0) total += m.params()[i].v->data.numel();
  if (total == 0) return;
  tensor packed({total}, mem_category::temporaries);
  float* at = packed.f32();
  for (size_t i : params)
    if (const parameter& p = m.params()[i]; p.shard.dim < 0) at = std::copy(p.v->grad().f32(), p.v->grad().f32() + p.v->grad().numel(), at);
  m.tensor_parallel()->all_reduce_sum(packed.f32(), size_t(total));
  at = packed.f32();
  for (size_t i : params)
    if (const parameter& p = m.params()[i]; p.shard.dim < 0) {
      std::copy(at, at + p.v->grad().numel(), p.v->grad().f32());
      at += p.v->grad().numel();
    }
}

void sequence_parallel_sum_grads(const model& m) {
  std::vector<size_t> all(m.params().size());
  std::iota(all.begin(), all.end(), size_t(0));
  sequence_parallel_sum_grads(m, all);
}

}  // namespace wb
