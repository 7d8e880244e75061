// Data parallel's one exchange per step: every rank has the gradient of the mean loss over its own
// rows; after average_gradients every rank holds the gradient of the mean over all ranks' rows (the
// same global batch a single process would see), and the mean loss. The sum is the collective's
// all-reduce, then a scale by 1/world. A float's sum depends on its order, so dp=N matches dp=1
// within fp32 rounding, not bit for bit.
#pragma once
#include "core/parallel/collective.hpp"
#include "core/tensor/tensor.hpp"

namespace wb {

// grads: f32 (P), modified in place. Returns the mean of `local_loss` over the ranks.
double average_gradients(collective& c, const tensor& grads, double local_loss);
// The second half of average_gradients, for gradients already summed over the ranks (bucket by
// bucket during backward, core/parallel/grad_reduce_overlap.hpp): the scale by 1/world and the loss.
double average_summed_gradients(collective& c, const tensor& grads, double local_loss);

}  // namespace wb
