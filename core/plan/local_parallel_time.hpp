// Step time of a local tensor- and pipeline-parallel layout (tp, pp 1F1B or interleaved, tp x pp,
// dp x pp) as `wb run --nproc tp*dp*pp` runs it here: one process per rank over the fabric (shm),
// each with the profile's threads, every rank sharing this machine's cores. Each stage's passes are
// priced op by op at its chunks' layers and tensor-parallel widths (local_time.hpp), with the
// tensor-parallel collectives of tensor_parallel_ops.hpp from the profile's collective table; the
// stages then run through the engine's own schedule (pipeline_timeline.hpp), which gives the
// bubble and the exposed pipeline sends; then what the trainer does after the schedule (the tied
// embedding's gradients, the norm, the data-parallel exchange, the optimizer). docs/plan.md lists
// the assumptions.
#pragma once
#include "core/plan/device_profile.hpp"
#include "core/plan/plan.hpp"

namespace wb {

// `cores`: the machine's (machine_probe); ranks x p.threads above it share them.
plan_time local_parallel_step_time(const model_config& c, const plan_layout& l, const device_profile& p, int cores);

}  // namespace wb
