// Test support: a device profile with round, hand-set figures instead of measured ones, so a time
// model test can compute the expected answer itself: every GEMM shape at one rate, every kernel
// at one cost per element, and an optional collective table.
#pragma once
#include "core/plan/device_profile.hpp"

namespace wb::test {

inline device_profile synthetic_profile(double gemm_flops_per_s = 100e9, double kernel_s_per_element = 1e-9) {
  device_profile p;
  p.backend = "cpu", p.cpu = "synthetic", p.threads = 1;
  for (int m : {64, 256, 1024, 4096})
    for (int n : {64, 256, 1024, 4096})
      for (int k : {64, 256, 1024, 4096}) p.gemm.push_back({m, n, k, gemm_flops_per_s});
  p.memory_bandwidth = 10e9;
  p.attention_flops_per_s = p.attention_saving_flops_per_s = p.attention_backward_flops_per_s = p.attention_recompute_flops_per_s = 20e9;
  p.memory_bytes = 64e9;
  for (const char* op : {"add", "add_bias", "rmsnorm", "layernorm", "rope", "swiglu", "gelu", "to_bf16", "embedding", "cross_entropy"})
    p.kernels[op] = {kernel_s_per_element, 2 * kernel_s_per_element};
  p.zero_fill_bandwidth = 20e9;
  p.op_overhead_s = 2e-6;
  p.optimizer_s_per_param = 1e-9;
  return p;
}

// All-reduce, reduce-scatter and all-gather between 2 ranks: 10 us, then 1 GB/s (all-reduce) and
// 2 GB/s (the halves) from 1 MiB on.
inline void add_synthetic_collectives(device_profile& p) {
  p.collective_ranks = 2;
  p.collectives = {{4096, 10e-6, 8e-6, 8e-6}, {1 << 20, (1 << 20) / 1e9, (1 << 20) / 2e9, (1 << 20) / 2e9}};
}

}  // namespace wb::test
