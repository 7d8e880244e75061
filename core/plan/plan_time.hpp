// Step time of a layout: compute per microbatch and stage from GEMM shapes and memory traffic,
// the pipeline bubble (Narayanan et al. 2021 §2.2: (p-1)/v of a microbatch's forward and backward),
// tensor-parallel collectives on the critical path (Megatron-LM does not overlap them by default),
// pipeline sends, and the data-parallel gradient reduction less what overlaps with the last
// microbatch's backward. Collective times follow the ring algorithms' volumes (nccl-tests
// PERFORMANCE.md: all-reduce moves 2(n-1)/n of the buffer per rank). For this machine's CPU engine
// (instance "local" with a measured profile) step_time defers to local_time.hpp, op by op.
#pragma once
#include "core/catalog/instance.hpp"
#include "core/plan/device_profile.hpp"
#include "core/plan/plan.hpp"
#include "core/plan/plan_flops.hpp"

namespace wb {

// How fast one device runs: an accelerator from the catalog, or this machine's measured profile.
struct device_speed {
  double peak_flops = 0;         // for MFU: dense bf16 peak of an accelerator, measured peak GEMM here
  double memory_bandwidth = 0;   // bytes/s
  const device_profile* profile = nullptr;  // measured GEMM throughput by shape (local only)
  double gemm_efficiency = 0;    // accelerators: achievable fraction of peak for large GEMMs
  double gemm_seconds(const gemm_shape& g, double element_bytes) const;
};

device_speed device_speed_of(const instance_spec& inst, const device_profile* local);

// Ring all-reduce time of `bytes` over `n` ranks at `bandwidth` bytes/s per rank and direction.
double all_reduce_seconds(double bytes, int n, double bandwidth);

plan_time step_time(const model_config& c, const plan_layout& l, const instance_spec& inst, const device_speed& d);

}  // namespace wb
