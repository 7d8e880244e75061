// Step time of a training step on this machine's CPU engine, predicted op by op as core/model runs
// them (llama.cpp, gpt.cpp, model.cpp; the tape in core/tensor/tape.cpp; the trainer's optimizer
// pass), each op priced by what the device profile measured for that kernel: GEMMs by shape,
// attention by its variant, memory-bound kernels per element, the tape's zeroing of gradients and
// per-op bookkeeping, AdamW per parameter, and the data-parallel exchange from the measured
// collective table. The local counterpart of local_memory.hpp; docs/plan.md lists the assumptions.
#pragma once
#include "core/plan/device_profile.hpp"
#include "core/plan/plan.hpp"

namespace wb {

// `l`: dp ranks on this machine (tp = pp = 1), each running `p.threads` threads.
plan_time local_step_time(const model_config& c, const plan_layout& l, const device_profile& p);

}  // namespace wb
