// Data parallel's gradient reduction overlapped with backward, as PyTorch DDP's reducer (Li et al.
// 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training", section 3.2:
// bucketed all-reduce launched as each bucket's gradients become ready, no_sync for accumulation)
// and Megatron-LM's distributed optimizer (overlap_grad_reduce: a bucket's reduce-scatter starts
// once backward has produced all its gradients). Earlier microbatches of a step only accumulate; on
// the last one, when backward leaves layer l the gradients of layer l's parameters are final
// (layer_hooks), so the bucket ending at layer l is handed to a comm_thread, which all-reduces it
// (ZeRO-0) or reduce-scatters it into the ranks' shards (ZeRO-1) while the main thread continues
// backward. The parameters outside the layers are one bucket per contiguous range: the head's (final
// norm, an untied output layer) posted when backward enters the top layer, since their gradients are
// final then (Megatron-LM's buckets follow backward's order, so its output layer's bucket goes
// first too); the embedding's after backward (a tied embedding is written first by the head and
// last by the lookup). finish_* waits for all, then averages as the synchronous path does.
//
// Same result as the synchronous path: each element is the same sum of the same rank values. With
// two ranks that sum is one addition, so the losses are bit-identical; with more, the collective's
// order over the ranks may differ with the message size (fp32 rounding).
//
// Tensor parallel: a bucket's replicated (sequence-parallel) gradients are summed over the tp group
// on the main thread before the bucket is posted, as ZeRO-2 does, and the data-parallel collective
// must be a channel of its own (collective::open_channel), since backward's tp all-reduces run on
// the main thread meanwhile. Pipeline parallel likewise (the schedule's sends run on the main
// thread): the hooks go on each chunk's last microbatch (pipeline_forward_backward), so a stage's
// buckets are reduced during its cooldown, and a stage that finishes early (the last one, under
// 1F1B) reduces while the stages before it still run backward, as Megatron-Core does
// (megatron/core/pipeline_parallel/schedules.py: grad sync enabled for the last microbatch's
// backward of each chunk, with --overlap-grad-reduce). The embedding's buckets are posted after the
// tied embedding's gradients were summed over the stages.
#pragma once
#include <vector>

#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"
#include "core/parallel/comm_thread.hpp"
#include "core/parallel/param_buckets.hpp"
#include "core/parallel/zero1.hpp"
#include "core/tensor/tape.hpp"

namespace wb {

// Adjacent layers merge into one bucket until it holds at least this many bytes: over libfabric shm
// with two ranks a 1 MiB all-reduce already reaches 4.6 GB/s bus bandwidth, within 20% of the 4 MiB
// peak (docs/benchmarks.md, "Collectives", 2026-11-23), so larger buckets only delay the first
// reduction. PyTorch DDP's first bucket is 1 MiB for the same reason (bucket_cap_mb, first bucket
// "dist._DEFAULT_FIRST_BUCKET_BYTES").
constexpr size_t overlap_min_bucket_bytes = size_t(1) << 20;

// True when the overlap is safe and useful: data parallel over more than one rank, and beside tensor
// or pipeline parallel (whose all-reduces and sends run inside backward on the main thread) only
// when dp is a channel of its own.
bool overlap_grad_reduce_applies(const model& m, const collective* dp, const collective* pipeline, bool dp_own_channel);


class grad_reduce_overlap {
 public:
  // zero: 0 (all-reduce each bucket) or 1 (reduce-scatter each bucket into the shards). dp and m
  // must outlive this. No collective call.
  grad_reduce_overlap(model& m, collective& dp, int zero, size_t min_bucket_bytes = overlap_min_bucket_bytes);
  grad_reduce_overlap(const grad_reduce_overlap&) = delete;
  grad_reduce_overlap& operator=(const grad_reduce_overlap&) = delete;

  // Set on the last microbatch's tape before its forward pass (each chunk's, under a pipeline).
  const layer_hooks& hooks() const { return hooks_; }
  // After the last microbatch's backward: posts the embedding's buckets.
  void end_backward();
  // Then, waiting for every bucket: what average_gradients (zero 0) or zero1_reduce_gradients
  // (zero 1) return. Collective; rethrows a comm-thread failure (collective_error naming the rank).
  double finish_all_reduce(double local_loss);
  zero1_gradients finish_reduce_scatter(double local_loss, int threads, const std::vector<chunk>& uncounted);
  // The caller failed mid-step: stop reducing and forget the comm thread's outcome.
  void abandon() { comm_.abandon(); }

  // The buckets in the order backward posts them (arena ranges): the head's, the layers' from the
  // top down, the embedding's.
  std::vector<chunk> buckets() const;

 private:
  void post(const param_bucket& b);

  model* model_;
  collective* dp_;
  int zero_;
  std::vector<param_bucket> layer_buckets_;  // merged layers, from the last layer down
  std::vector<int> posted_after_;            // layer_buckets_[i] is posted when backward leaves this layer
  std::vector<param_bucket> head_;   // after the layers in the arena: posted when backward enters the top layer
  std::vector<param_bucket> outer_;  // the rest, posted after backward
  layer_hooks hooks_;
  comm_thread comm_;  // last: its destructor runs first, while the rest is still alive
};

}  // namespace wb
