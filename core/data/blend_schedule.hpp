// Which source each global sample comes from: at every sample, the source furthest behind its
// weight (Megatron-LM's blended dataset, megatron/core/datasets/helpers.cpp
// build_blending_indices: argmax of weight * max(i, 1) - count). Deterministic, and over any
// prefix every source's count is within one sample of weight * n.
#pragma once
#include <cstdint>
#include <vector>

namespace wb {

class blend_schedule {
 public:
  explicit blend_schedule(std::vector<double> weights);  // normalised here
  uint32_t next();                                        // the source of sample `position()`
  uint64_t position() const { return position_; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  const std::vector<double>& weights() const { return weights_; }
  void restore(uint64_t position, std::vector<uint64_t> counts);

 private:
  std::vector<double> weights_;
  std::vector<uint64_t> counts_;
  uint64_t position_ = 0;
};

}  // namespace wb
