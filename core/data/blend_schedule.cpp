// The greedy blending rule; see the header.
#include "core/data/blend_schedule.hpp"

#include <algorithm>
#include <numeric>

namespace wb {

blend_schedule::blend_schedule(std::vector<double> weights) : weights_(std::move(weights)), counts_(weights_.size()) {
  double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  for (auto& w : weights_) w /= total;
}

uint32_t blend_schedule::next() {
  double at = double(std::max<uint64_t>(position_, 1));
  uint32_t best = 0;
  double best_error = -1e300;
  for (uint32_t d = 0; d < weights_.size(); ++d) {
    double error = weights_[d] * at - double(counts_[d]);
    if (error > best_error) { best_error = error; best = d; }
  }
  ++counts_[best];
  ++position_;
  return best;
}

void blend_schedule::restore(uint64_t position, std::vector<uint64_t> counts) {
  position_ = position;
  counts_ = std::move(counts);
}

}  // namespace wb
