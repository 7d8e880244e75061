// Gradient norm, finiteness and clipping over a flat gradient arena.
#include "core/train/grad_norm.hpp"

#include <cmath>

namespace wb {

grad_stats grad_norm(const tensor& grads) {
  const float* g = grads.f32();
  double s = 0;
  for (int64_t i = 0, n = grads.numel(); i < n; ++i) s += double(g[i]) * double(g[i]);
  grad_stats r;
  r.finite = std::isfinite(s);  // any NaN or Inf element makes the sum non-finite
  r.norm = std::sqrt(s);
  return r;
}

double clip_grad_norm(const tensor& grads, double norm, double clip) {
  if (clip <= 0 || norm <= clip) return 1.0;
  double f = clip / (norm + 1e-6);  // the 1e-6 of torch.nn.utils.clip_grad_norm_
  float ff = float(f);
  float* g = grads.f32();
  for (int64_t i = 0, n = grads.numel(); i < n; ++i) g[i] *= ff;
  return f;
}

}  // namespace wb
