// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", Algorithm 2) over a
// model's flat parameter and gradient arenas; moments m and v are two more arenas charged to
// `optimizer_state`. Weight decay applies only to parameters marked decay (matrices and
// embeddings), never to norm weights or biases. fp32 state; one fused, vectorised pass split over
// `threads` (a few ms for ~5M params).
#pragma once
#include <vector>

#include "core/model/model.hpp"

namespace wb {

class adamw {
 public:
  adamw(const model& m, const optim_config& o);
  // One update with learning rate lr from the gradients currently in the model's arena; the
  // result does not depend on threads.
  void step(double lr, int threads = 1);
  long long steps() const { return t_; }

  // For checkpoints: the moments (P) each, and the update count (bias correction depends on it).
  const tensor& first_moment() const { return m_; }
  const tensor& second_moment() const { return v_; }
  void restore(long long steps) { t_ = steps; }

 private:
  const model* model_;
  optim_config o_;
  tensor m_, v_;  // (P) each
  std::vector<std::pair<int64_t, int64_t>> decay_ranges_;  // [begin, end) in the arena
  long long t_ = 0;
};

}  // namespace wb
