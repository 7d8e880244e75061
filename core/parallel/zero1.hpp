// ZeRO stage 1 (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
// Parameter Models", section 5.1, P_os): data-parallel ranks keep full parameters and gradients but
// each owns the optimizer state of one shard of the flat parameter arena, chunk_range(P, dp, rank).
// A step is: reduce-scatter the gradients (each rank gets the summed gradient of its shard), the
// global norm from the shards' sums of squares, clip and AdamW on the shard only, then all-gather
// the parameters. Same traffic as the all-reduce of plain data parallel (reduce-scatter +
// all-gather), optimizer state / dp per rank.
#pragma once
#include <vector>

#include "core/parallel/collective.hpp"
#include "core/tensor/tensor.hpp"
#include "core/train/grad_norm.hpp"

namespace wb {

// The shard of a P-element arena that `c`'s rank updates.
inline chunk zero1_shard(const collective& c, int64_t P) { return chunk_range(size_t(P), c.world(), c.rank()); }

// Each rank's part of an arena range: the overlap of its shard chunk_range(P, world, r) with it,
// relative to the range's start (the parts of a bucket's reduce-scatter or gather, zero2/zero3).
std::vector<chunk> shard_parts_of(chunk range, int64_t P, int world);

struct zero1_gradients {
  double loss = 0;   // mean of the ranks' local losses
  grad_stats stats;  // norm and finiteness of the whole averaged gradient, the same on every rank
};

// grads: f32 (P). Afterwards the rank's shard of grads holds the gradient averaged over the ranks
// (the rest is unspecified); the norm covers all P elements but the `uncounted` ranges of the
// arena (a tied embedding's copy that another pipeline stage counts). Collective over every rank of c.
zero1_gradients zero1_reduce_gradients(collective& c, const tensor& grads, double local_loss, int threads = 1,
                                       const std::vector<chunk>& uncounted = {});

// The second half of zero1_reduce_gradients, for a shard already summed over the ranks (bucket by
// bucket during backward, core/parallel/grad_reduce_overlap.hpp): the scale by 1/world, the loss
// mean and the global norm. Collective over every rank of c.
zero1_gradients zero1_average_shard(collective& c, const tensor& grads, double local_loss, int threads,
                                    const std::vector<chunk>& uncounted);

// The loss mean and the global norm of zero1_reduce_gradients from each rank's averaged shard:
// shard_grads (s.size) holds elements [s.begin, s.begin + s.size) of the arena (ZeRO-2 keeps only
// those). Collective over every rank of c.
zero1_gradients zero_shard_stats(collective& c, const tensor& shard_grads, chunk s, double local_loss, int threads,
                                 const std::vector<chunk>& uncounted);

// params: f32 (P); each rank contributes its updated shard and receives the others'.
void zero1_gather_parameters(collective& c, const tensor& params);

}  // namespace wb
