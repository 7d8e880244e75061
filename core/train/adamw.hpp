// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", Algorithm 2) over a
// model's flat parameter and gradient arenas; moments m and v are two more arenas charged to
// `optimizer_state`. Weight decay applies only to parameters marked decay (matrices and
// embeddings), never to norm weights or biases. fp32 state; one fused, vectorised pass split over
// `threads` (a few ms for ~5M params). Under ZeRO-1 (core/parallel/zero1.hpp) an instance owns one
// shard [begin, begin + size) of the flat arena: it holds moments for that shard only and updates
// only those parameters.
#pragma once
#include <vector>

#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"

namespace wb {

class adamw {
 public:
  adamw(const model& m, const optim_config& o);
  // Moments and updates for elements [shard.begin, shard.begin + shard.size) of the arena only.
  adamw(const model& m, const optim_config& o, chunk shard);
  // One update with learning rate lr from the gradients currently in the model's arena, or from
  // `shard_grads` (shard.size) when the shard's gradients live elsewhere (ZeRO-2), of the
  // parameters in the arena, or in `shard_params` (shard.size) when the model has none (ZeRO-3);
  // the result does not depend on threads.
  void step(double lr, int threads = 1, const tensor* shard_grads = nullptr, const tensor* shard_params = nullptr);
  long long steps() const { return t_; }

  // The arena elements this instance updates (all of them unless sharded).
  chunk shard() const { return shard_; }
  // For checkpoints: the moments (shard.size) each, and the update count (bias correction depends on it).
  const tensor& first_moment() const { return m_; }
  const tensor& second_moment() const { return v_; }
  void restore(long long steps) { t_ = steps; }

 private:
  const model* model_;
  optim_config o_;
  chunk shard_;
  tensor m_, v_;  // (shard.size) each
  std::vector<std::pair<int64_t, int64_t>> decay_ranges_;  // [begin, end) relative to the shard's start
  long long t_ = 0;
};

}  // namespace wb
