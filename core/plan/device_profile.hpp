// What this machine's CPU backend achieves, measured (`wb plan --calibrate`) rather than assumed:
// GEMM throughput by shape, memory bandwidth, attention and elementwise throughput, for a given
// thread count. The planner predicts step time for instance "local" from it. Stored as JSON
// (versioned) so a plan needs no measurement after the first.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace wb {

class compute_backend;

struct gemm_point {
  int m = 0, n = 0, k = 0;
  double flops_per_s = 0;
};

struct device_profile {
  int version = 1;
  std::string backend, cpu;              // "cpu", model name from /proc/cpuinfo
  int threads = 1;
  std::vector<gemm_point> gemm;          // C(m,n) = A(m,k) B(k,n) f32, measured grid
  double memory_bandwidth = 0;           // bytes/s, read + write streaming over a large buffer
  double attention_flops_per_s = 0;      // the causal attention op, forward, counted as its GEMMs
  double attention_saving_flops_per_s = 0;  // its forward when it also stores the probabilities
  double attention_backward_flops_per_s = 0;   // its backward with saved probabilities (2x forward FLOPs)
  double attention_recompute_flops_per_s = 0;  // its backward rebuilding them (selective, 3x forward FLOPs)
  double memory_bytes = 0;               // physical memory
  double gemm_flops_per_s(int m, int n, int k) const;  // interpolated in log space over the grid
};

device_profile device_profile_measure(compute_backend& backend, int threads);
std::string device_profile_path();       // $WB_PROFILE, else ~/.cache/wb/profile-cpu.json
std::optional<device_profile> device_profile_load(const std::string& path);
void device_profile_save(const device_profile& p, const std::string& path);

}  // namespace wb
