// ZeRO stage 3 (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
// Parameter Models", section 5.3, P_os+g+p): on top of ZeRO-2's sharded gradients and ZeRO-1's
// sharded optimizer, no rank keeps the whole parameters. Each data-parallel rank keeps the
// parameters of its ZeRO-1 shard (zero1_shard(dp, P): the elements its AdamW updates and ZeRO-2's
// gradient shard covers), and the model's parameter arena is freed (model::drop_param_arena).
//
// A layer's parameters are views of that layer's gathered buffer (one contiguous range of the
// arena, as ZeRO-2's buckets), which has storage only while the layer runs: the layer marks'
// hooks (tape::mark_layer) all-gather it from the shards before the layer's forward and free it
// after (tensor::free_storage, as PyTorch FSDP frees a storage: the tape's saved views of the
// weights stay and see the bytes again once re-gathered), and gather it again when backward enters
// the layer, freeing it once ZeRO-2 has reduced the layer's gradients. It is always gathered
// again in backward rather than kept from the forward pass: keeping it would hold every layer's
// parameters from forward to backward, the whole arena ZeRO-3 is there to drop. With full
// recomputation the rerun block reads the parameters gathered for backward; with recompute none
// the saved GEMM inputs read them. Gathers are a ring over unequal parts; the traffic is 1.5x
// ZeRO-1's per microbatch (a gather in forward and backward, the reduce-scatter of ZeRO-2).
//
// Prefetch (with a comm_thread, the one ZeRO-2's reductions run on, so every rank posts the same
// collectives in the same order): the next layer's gather is posted when a layer starts, layer l+1
// at layer l's forward and layer l-1 when backward enters layer l, and runs while the layer computes,
// as PyTorch FSDP's forward_prefetch and BACKWARD_PRE prefetch and DeepSpeed's stage3_prefetch do.
// Its buffer is allocated when posted, so two layers are gathered at a time instead of one.
//
// The outer parameters (embedding, GPT's position embedding, final norm, output layer) stay
// gathered for the whole run, as DeepSpeed keeps small parameters persistent
// (stage3_param_persistence_threshold): the head reads a tied embedding at the end of forward and
// the embedding is read again at the end of backward, so there is no layer to bracket them with.
// They are gathered again after each optimizer step. Parameter memory per rank: the shard (P/dp) +
// the outer parameters + one layer's gathered buffer (two with prefetch), instead of P.
//
// Limits: data parallel without pipeline parallel (tensor parallel works: the shards are of each tp
// rank's own arena). In bf16 runs the tape keeps each weight's bf16 copy from forward to backward
// (mixed_precision.hpp), 2 bytes a layer parameter that ZeRO-3 does not free.
#pragma once
#include <vector>

#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"
#include "core/parallel/comm_thread.hpp"
#include "core/parallel/zero1.hpp"
#include "core/tensor/tape.hpp"

namespace wb {

// The inverse of reduce_scatter_parts (zero2.hpp): each rank holds parts[c.rank()] of data (n);
// afterwards every rank holds all of it. A ring of world - 1 steps with unequal parts, the same on
// every rank. Collective over c.
void all_gather_parts(collective& c, float* data, const std::vector<chunk>& parts);

class zero3_parameters {
 public:
  // Copies this rank's shard and the outer parameters out of m's arena, frees the arena and binds
  // every parameter to its gathered buffer (a layer's without storage until gathered). `inner`:
  // ZeRO-2's layer hooks, which hooks() calls between the gather and the release in backward;
  // must outlive this. prefetch: when given, the comm thread the gathers run on, one layer ahead
  // (the one inner posts its reductions to, if any). No collective call.
  zero3_parameters(model& m, collective& dp, const layer_hooks& inner, comm_thread* prefetch = nullptr);
  zero3_parameters(const zero3_parameters&) = delete;
  zero3_parameters& operator=(const zero3_parameters&) = delete;

  chunk shard() const { return shard_; }
  const tensor& shard_parameters() const { return shard_params_; }  // (shard.size), charged to `parameters`

  // For every tape that runs the model, training or not: gathers and frees each layer's
  // parameters around its forward and, when the tape records, around inner's backward hooks.
  // Collective over dp (every rank runs the same layers).
  const layer_hooks& hooks() const { return hooks_; }
  // After the optimizer updated the shard: the outer parameters gathered again. Collective.
  void gather_outer();
  // After a step failed (and the comm thread was abandoned): forgets the gathers in flight and
  // frees the layers' buffers. No collective call.
  void abandon_gathers();
  // All P parameters into `whole` (P floats) on every rank. Collective.
  void gather_all(float* whole) const;
  // The shard and the outer parameters from all P parameters (a checkpoint every rank read). No
  // collective call.
  void load(const float* whole);

 private:
  struct bucket {
    chunk range;      // in the arena
    tensor gathered;  // (range.size), charged to `parameters`; a layer's has storage only while gathered
  };
  void gather(const bucket& b) const;  // allocates b's buffer and fills it from the shards
  void fill(const bucket& b) const;    // fills it: the collective part
  // Layer l gathered, or its gather posted to the comm thread; then waited for.
  void request(int l);
  void await(int l);
  void release(const bucket& b) const { b.gathered.free_storage(); }

  model* model_;
  collective* dp_;
  comm_thread* prefetch_;
  std::vector<uint64_t> pending_;  // per layer: its gather's ticket on prefetch_, until awaited (0: none)
  chunk shard_;
  tensor shard_params_;
  std::vector<bucket> layers_, outer_;  // layers_[l] is layer l's
  layer_hooks hooks_;
};

}  // namespace wb
