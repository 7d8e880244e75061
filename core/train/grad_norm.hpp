// Global gradient norm (over every parameter, as torch.nn.utils.clip_grad_norm_), finiteness
// check before an update, and clipping by scaling the whole gradient arena.
#pragma once
#include "core/tensor/tensor.hpp"

namespace wb {

struct grad_stats {
  double norm = 0;   // L2 over the whole arena, accumulated in double in a fixed order
  bool finite = true;
};

grad_stats grad_norm(const tensor& grads, int threads = 1);  // same result for any threads
// Scales grads by clip / norm when norm > clip > 0; returns the factor applied (1 if none).
double clip_grad_norm(const tensor& grads, double norm, double clip, int threads = 1);

}  // namespace wb
