// The AdamW update, in PyTorch's torch.optim.AdamW order: p *= 1 - lr * wd, then the Adam step
// with bias-corrected moments.
#include "core/train/adamw.hpp"

#include <cmath>

namespace wb {

adamw::adamw(const model& m, const optim_config& o)
    : model_(&m),
      o_(o),
      m_(tensor::zeros({m.num_params()}, mem_category::optimizer_state)),
      v_(tensor::zeros({m.num_params()}, mem_category::optimizer_state)) {
  const float* base = m.param_arena().f32();
  for (auto& p : m.params())
    if (p.decay) {
      int64_t b = p.v->data.f32() - base;
      decay_ranges_.push_back({b, b + p.v->data.numel()});
    }
}

void adamw::step(double lr) {
  ++t_;
  float* p = model_->param_arena().f32();
  const float* g = model_->grad_arena().f32();
  float *m = m_.f32(), *v = v_.f32();
  if (o_.weight_decay > 0) {
    float keep = float(1.0 - lr * o_.weight_decay);
    for (auto [b, e] : decay_ranges_)
      for (int64_t i = b; i < e; ++i) p[i] *= keep;
  }
  float b1 = float(o_.beta1), b2 = float(o_.beta2), eps = float(o_.eps);
  float c1 = float(1.0 - std::pow(o_.beta1, double(t_))), c2 = float(1.0 - std::pow(o_.beta2, double(t_)));
  float step = float(lr) / c1, root_c2 = std::sqrt(c2);
  for (int64_t i = 0, n = m_.numel(); i < n; ++i) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    p[i] -= step * m[i] / (std::sqrt(v[i]) / root_c2 + eps);
  }
}

}  // namespace wb
