// average_gradients: the gradients are reduced in the model's own arena (no copy of P floats); the
// loss goes in a separate one-element all-reduce.
#include "core/parallel/data_parallel.hpp"

namespace wb {

double average_gradients(collective& c, const tensor& grads, double local_loss) {
  if (c.world() == 1) return local_loss;
  c.all_reduce_sum(grads.f32(), size_t(grads.numel()));
  return average_summed_gradients(c, grads, local_loss);
}

double average_summed_gradients(collective& c, const tensor& grads, double local_loss) {
  if (c.world() == 1) return local_loss;
  float* g = grads.f32();
  size_t n = size_t(grads.numel());
  float scale = 1.0f / float(c.world());
  for (size_t i = 0; i < n; ++i) g[i] *= scale;
  float loss = float(local_loss);
  c.all_reduce_sum(&loss, 1);
  return double(loss) / double(c.world());
}

}  // namespace wb
