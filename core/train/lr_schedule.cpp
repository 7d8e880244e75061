// Warm-up as nanoGPT's get_lr (lr * (it + 1) / (warmup + 1)) so step 0 already moves; cosine
// decay as Loshchilov & Hutter 2017 (SGDR) without restarts.
#include "core/train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace wb {

double lr_at(const optim_config& o, long long step, long long total) {
  if (step < o.warmup_steps) return o.lr * double(step + 1) / double(o.warmup_steps + 1);
  if (o.schedule == "constant") return o.lr;
  long long span = std::max(1LL, total - o.warmup_steps);
  double progress = std::clamp(double(step - o.warmup_steps) / double(span), 0.0, 1.0);
  double f = o.schedule == "linear" ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return o.lr_min + (o.lr - o.lr_min) * f;
}

}  // namespace wb
