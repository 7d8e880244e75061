// Peak memory of a training step on this machine's CPU engine, for every rank of a local layout
// (tensor, pipeline and data parallel, ZeRO 0 to 3), predicted from the recipe by following what
// the engine keeps (core/tensor/ops.cpp: each op's output and saved tensors, and what its backward
// needs) in the order the pipeline schedule runs each stage's microbatches (pipeline_replay.hpp).
// tests/core/plan/local_memory_test.cpp and local_rank_memory_test.cpp hold it to within 5% of the
// engine's own accounting (core/tensor/memory.hpp), one process and each thread-rank.
#pragma once
#include <vector>

#include "core/plan/plan.hpp"

namespace wb {

// What rank `rank` of the layout holds at its peak (ranks as core/parallel/rank_layout.hpp numbers
// them: tp innermost, then dp, then pp); `stage` and `rank` set.
plan_memory local_rank_memory(const model_config& c, const plan_layout& l, int rank, double device_bytes);

// Every rank's, in rank order.
std::vector<plan_memory> local_memory_by_rank(const model_config& c, const plan_layout& l, double device_bytes);

// The most loaded rank's (the lowest rank among equals: with dp > 1 and ZeRO-1, rank 0's chunk is
// the largest).
plan_memory local_step_memory(const model_config& c, const plan_layout& l, double device_bytes);

}  // namespace wb
