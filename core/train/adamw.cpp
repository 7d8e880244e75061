// The AdamW update, in PyTorch's torch.optim.AdamW order: p *= 1 - lr * wd, then the Adam step
// with bias-corrected moments. One fused pass over the arenas (decay, moments, update per element:
// the same arithmetic as separate passes, so the same bits), in fixed contiguous chunks over up to
// `threads` std::threads; each element is written by one thread, so results never depend on them.
#include "core/train/adamw.hpp"

#include <algorithm>
#include <cmath>
#include <thread>

namespace wb {

adamw::adamw(const model& m, const optim_config& o) : adamw(m, o, chunk{0, size_t(m.num_params())}) {}

adamw::adamw(const model& m, const optim_config& o, chunk shard)
    : model_(&m),
      o_(o),
      shard_(shard),
      m_(tensor::zeros({int64_t(shard.size)}, mem_category::optimizer_state)),
      v_(tensor::zeros({int64_t(shard.size)}, mem_category::optimizer_state)) {
  int64_t lo = int64_t(shard.begin), hi = lo + int64_t(shard.size);
  for (size_t i = 0; i < m.params().size(); ++i)
    if (const parameter& p = m.params()[i]; p.decay) {
      int64_t at = int64_t(m.param_offset(i));
      int64_t b = std::max(at, lo), e = std::min(at + p.v->data.numel(), hi);
      if (b < e) decay_ranges_.push_back({b - lo, e - lo});
    }
}

namespace {

struct adamw_consts {
  float keep, b1, b2, eps, step, root_c2;
};

// Elements [b, e) of one stretch that is either all decayed or all not. Written so GCC vectorises
// it (sqrtf and the division are correctly rounded in vector and scalar code alike).
void update_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,
                  bool decay, const adamw_consts& k) {
  if (decay)
    for (int64_t i = 0; i < n; ++i) p[i] *= k.keep;
  for (int64_t i = 0; i < n; ++i) {
    m[i] = k.b1 * m[i] + (1.0f - k.b1) * g[i];
    v[i] = k.b2 * v[i] + (1.0f - k.b2) * g[i] * g[i];
    p[i] -= k.step * m[i] / (__builtin_sqrtf(v[i]) / k.root_c2 + k.eps);
  }
}

}  // namespace

void adamw::step(double lr, int threads, const tensor* shard_grads, const tensor* shard_params) {
  ++t_;
  float* p = shard_params ? shard_params->f32() : model_->param_arena().f32() + shard_.begin;
  const float* g = shard_grads ? shard_grads->f32() : model_->grad_arena().f32() + shard_.begin;
  float *m = m_.f32(), *v = v_.f32();
  adamw_consts k;
  k.keep = o_.weight_decay > 0 ? float(1.0 - lr * o_.weight_decay) : 1.0f;
  bool decays = o_.weight_decay > 0;
  k.b1 = float(o_.beta1), k.b2 = float(o_.beta2), k.eps = float(o_.eps);
  float c1 = float(1.0 - std::pow(o_.beta1, double(t_))), c2 = float(1.0 - std::pow(o_.beta2, double(t_)));
  k.step = float(lr) / c1, k.root_c2 = std::sqrt(c2);
  int64_t n = m_.numel();
  // Elements [lo, hi): walk the decayed ranges (sorted, disjoint) and the gaps between them.
  auto run = [&](int64_t lo, int64_t hi) {
    int64_t i = lo;
    for (auto [b, e] : decay_ranges_) {
      if (e <= i) continue;
      if (b >= hi) break;
      if (b > i) update_range(p + i, g + i, m + i, v + i, b - i, false, k), i = b;
      int64_t end = std::min(e, hi);
      update_range(p + i, g + i, m + i, v + i, end - i, decays, k);
      i = end;
    }
    if (i < hi) update_range(p + i, g + i, m + i, v + i, hi - i, false, k);
  };
  int team = int(std::clamp<int64_t>(n / (1 << 16), 1, std::max(threads, 1)));
  std::vector<std::thread> pool;
  for (int t = 1; t < team; ++t) pool.emplace_back(run, n * t / team, n * (t + 1) / team);
  run(0, n / team);
  for (auto& th : pool) th.join();
}

}  // namespace wb
