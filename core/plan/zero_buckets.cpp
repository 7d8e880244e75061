// Which parameters fall in which ZeRO bucket, per tensor-parallel rank; see zero_buckets.hpp.
#include "core/plan/zero_buckets.hpp"

#include "core/model/param_layout.hpp"

namespace wb {

bool zero3_prefetches(const plan_layout& l) {
  return l.zero >= 3 && l.dp > 1 && l.overlap_grad_reduce && l.pp <= 1;
}

bucket_elements bucket_elements_of(const model_config& c, int tp, int tp_rank, const std::vector<size_t>& indices) {
  bucket_elements b;
  b.layer.assign(size_t(c.layers), 0.0);
  const std::vector<param_spec> whole = param_layout(c);
  for (size_t i : indices) {
    double n = double(shape_numel(shard_shape(whole[i], tensor_parallel_shard(c, whole[i], tp, tp_rank))));
    int at = param_layer(whole[i].name);
    (at < 0 ? b.outer : b.layer[size_t(at)]) += n;
  }
  return b;
}

}  // namespace wb
