// Step time of a training step on this machine's CPU engine, predicted op by op as core/model runs
// them (llama.cpp, gpt.cpp, model.cpp; the tape in core/tensor/tape.cpp; the trainer's optimizer
// pass), each op priced by what the device profile measured for that kernel: GEMMs by shape,
// attention by its variant, memory-bound kernels per element, the tape's zeroing of gradients and
// per-op bookkeeping, AdamW per parameter, and the data-parallel exchange from the measured
// collective table. The local counterpart of local_memory.hpp; docs/plan.md lists the assumptions.
// local_microbatch_time prices one rank's share of a microbatch (a pipeline chunk's layers at
// tensor-parallel widths) for local_parallel_time.hpp, which runs those shares through the schedule.
#pragma once
#include <functional>
#include <vector>

#include "core/model/pipeline_stage.hpp"
#include "core/plan/device_profile.hpp"
#include "core/plan/plan.hpp"

namespace wb {

// One rank's share of a microbatch: the layers of one pipeline chunk (with the embedding and the
// head when it holds them) at the widths of one of `tp` tensor-parallel ranks.
struct local_shard {
  layer_span span;
  int tp = 1;
  bool sequence_parallel = false;
};

// A tensor-parallel collective a pass runs (tensor_parallel_ops.hpp): `bytes` is the whole buffer
// (all-gather: the gathered result; reduce-scatter: the input), as the collective table is keyed.
struct tp_collective {
  collective_op op = collective_op::all_reduce;
  double bytes = 0;
};

// Forward and backward of one rank's share of one microbatch: compute seconds (kernels, GEMMs, the
// tape's per-op work and gradient zeroing) and the tensor-parallel collectives each pass waits for.
struct microbatch_time {
  double forward_s = 0, backward_s = 0;
  std::vector<tp_collective> forward_collectives, backward_collectives;
};

microbatch_time local_microbatch_time(const model_config& c, const plan_layout& l, const device_profile& p, const local_shard& s);

// One collective over `ranks` ranks from the profile's table (measured between
// p.collective_ranks ranks); 0 for one rank or without a table.
double local_collective_seconds(const device_profile& p, collective_op op, double bytes, int ranks);

// The data-parallel exchange of one step as the trainer runs it, by ZeRO stage, for the replica of
// tensor-parallel rank 0 (pp = 1 for stages 2 and 3, which refuse pipelines): ZeRO-0 all-reduces the
// gradients (P elements) after the last backward; ZeRO-1 reduce-scatters them and all-gathers the
// updated parameters; ZeRO-2 reduce-scatters each layer's bucket and the outer buckets in every
// microbatch's backward and all-gathers the parameters after the step; ZeRO-3 also all-gathers each
// layer in every microbatch's forward and backward, and after the step only the outer parameters
// (core/parallel/zero2.hpp, zero3.hpp). `seconds(op, bytes)`: one collective over the dp group.
// Counted as exposed: with one core per rank here the comm thread's work takes the core from
// backward (bench/scaling), so overlap and prefetch hide little. Without the small all-reduce of the
// loss and norm.
double local_dp_exchange_seconds(const model_config& c, const plan_layout& l, double P,
                                 const std::function<double(collective_op, double)>& seconds);

// `l`: dp ranks on this machine (tp = pp = 1), each running `p.threads` threads.
plan_time local_step_time(const model_config& c, const plan_layout& l, const device_profile& p);

}  // namespace wb
