// ZeRO stage 2 (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
// Parameter Models", section 5.2, P_os+g): on top of ZeRO-1's sharded optimizer, no rank keeps the
// whole gradient. Each data-parallel rank keeps the gradient of its ZeRO-1 shard only
// (zero1_shard(dp, P), so AdamW, checkpoints and the parameter all-gather are ZeRO-1's) and fills
// it bucket by bucket during backward: a bucket is one layer's contiguous range of the arena,
// allocated when backward enters the layer and, once the layer is done, reduce-scattered over the
// ranks (each gets the sum of the part inside its shard), added into the shard and freed. The
// parameters outside the layers (embedding, final norm, output layer) form one bucket per
// contiguous range, held for the whole backward (a tied embedding's gradient is written first by
// the head and last by the embedding) and reduced after it. Every microbatch is reduced this way,
// so gradient accumulation accumulates into the shard. With a comm_thread the reductions run there
// while backward continues (every microbatch: there is no whole gradient to accumulate into).
//
// Gradient memory per rank during backward: the shard (P/dp) + the outer buckets + one layer's
// bucket (overlapped: plus at most one bucket still being reduced), instead of P. Traffic:
// the gradient is reduce-scattered once per microbatch (ZeRO-1 does it once per step, after
// accumulating).
#pragma once
#include <vector>

#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"
#include "core/parallel/comm_thread.hpp"
#include "core/parallel/param_buckets.hpp"
#include "core/parallel/zero1.hpp"
#include "core/tensor/tape.hpp"

namespace wb {

// data (n) summed over the ranks of c; afterwards parts[c.rank()] of data holds the sum (the rest is
// unspecified). parts: consecutive ranges tiling [0, n), one per rank, of any sizes (empty ones
// too), the same on every rank. A ring of world - 1 steps, each rank sending one part and receiving
// another per step, as reduce_scatter_sum's ring but with unequal parts: a rank sends n minus its
// own part in all. Collective over c.
void reduce_scatter_parts(collective& c, float* data, const std::vector<chunk>& parts);

class zero2_gradients {
 public:
  // Frees m's gradient arena (model::drop_grad_arena) and allocates this rank's shard of the
  // gradient instead (charged to `gradients`). No collective call.
  // overlap: when given, each bucket's reduce-scatter and its add into the shard run there, in
  // order, while backward continues (core/parallel/grad_reduce_overlap.hpp); a bucket's buffer lives
  // until its job ran, and opening a bucket waits until at most one other is in flight. finish()
  // waits for them all. Null: reduced inside the hook.
  zero2_gradients(model& m, collective& dp, comm_thread* overlap = nullptr);
  zero2_gradients(const zero2_gradients&) = delete;
  zero2_gradients& operator=(const zero2_gradients&) = delete;

  chunk shard() const { return shard_; }
  const tensor& shard_gradients() const { return shard_grads_; }  // (shard.size)

  void zero();  // before a step's first microbatch
  // Set on each microbatch's tape before its forward pass: layer buckets open and are reduced
  // as backward enters and leaves each layer.
  const layer_hooks& hooks() const { return hooks_; }
  // Around each microbatch's backward: binds the outer buckets, then reduces them. Collective.
  void begin_backward();
  void end_backward();
  // After the last microbatch: the shard averaged over the ranks, and the mean loss and global norm
  // as zero1_reduce_gradients gives them (uncounted: arena ranges another rank counts). Collective.
  zero1_gradients finish(double local_loss, int threads, const std::vector<chunk>& uncounted);

 private:
  struct bucket {
    param_bucket group;
    tensor grads;  // (group.range.size) while open
  };
  void open(bucket& b);
  void close(bucket& b);

  model* model_;
  collective* dp_;
  comm_thread* overlap_;
  uint64_t last_reduce_ = 0, reduce_before_last_ = 0;  // overlap_'s tickets of the two latest reductions
  chunk shard_;
  tensor shard_grads_;
  std::vector<bucket> layers_, outer_;  // layers_[l] is layer l's
  layer_hooks hooks_;
};

}  // namespace wb
