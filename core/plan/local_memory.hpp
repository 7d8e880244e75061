// Peak memory of a training step on this machine's CPU engine, predicted from the recipe by
// following what the engine keeps (core/tensor/ops.cpp: each op's output and saved tensors, and
// what its backward needs). `wb plan --calibrate` and tests/core/plan/local_memory_test.cpp hold
// it to within 5% of the engine's own accounting (core/tensor/memory.hpp).
#pragma once
#include "core/plan/plan.hpp"

namespace wb {

// `l` is the recipe's layout (tp = pp = 1); with dp > 1, what one rank holds (rank 0, the one
// whose ZeRO-1 chunk is largest).
plan_memory local_step_memory(const model_config& c, const plan_layout& l, double device_bytes);

}  // namespace wb
