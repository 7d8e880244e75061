// What this machine's CPU backend achieves, measured (`wb plan --calibrate`) rather than assumed:
// GEMM throughput by shape, memory bandwidth, the attention kernel, every memory-bound kernel the
// models run (per element, forward and backward), the tape's own work (zeroing gradients, per-op
// bookkeeping), the optimizer pass, and all-reduce time by message size between local ranks, for
// a given thread count. The planner predicts step time for instance "local" from it
// (local_time.hpp). Stored as JSON (versioned: docs/plan.md) so a plan needs no measurement after
// the first.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wb {

class compute_backend;

struct gemm_point {
  int m = 0, n = 0, k = 0;
  double flops_per_s = 0;
};

// A memory-bound kernel (core/tensor/op.hpp) as measured: seconds per element of its output
// (cross_entropy: of its logits), forward, and backward (accumulating into zeroed gradients).
struct kernel_rate {
  double forward_s = 0, backward_s = 0;
};

// One message size of the fabric collective between `ranks` local processes (one thread each):
// seconds per call, the median of timed loops, for a buffer of `bytes` per rank.
struct collective_point {
  double bytes = 0;
  double all_reduce_s = 0, reduce_scatter_s = 0, all_gather_s = 0;
};

// The attention op (causal) at one sequence length and head dim, as FLOP/s of its two GEMMs'
// lower triangle: forward without and with storing the probabilities, backward with saved
// probabilities (2x the forward's FLOPs) and rebuilding them (3x).
struct attention_point {
  int seq = 0, head_dim = 0, kv_group = 1;  // kv_group: query heads per key/value head (GQA)
  double forward = 0, forward_saving = 0, backward = 0, backward_rebuilding = 0;
};
constexpr int attention_seq_grid[] = {128, 256, 512, 1024};
constexpr int attention_head_dim_grid[] = {32, 64, 128};
constexpr int attention_kv_group_grid[] = {1, 4};

enum class collective_op { all_reduce, reduce_scatter, all_gather };

constexpr int device_profile_version = 3;  // 3: GEMM grid at every power of two

struct device_profile {
  int version = device_profile_version;
  std::string backend, cpu;              // "cpu", model name from /proc/cpuinfo
  int threads = 1;
  std::vector<gemm_point> gemm;          // C(m,n) = A(m,k) B(k,n) f32, measured grid
  double memory_bandwidth = 0;           // bytes/s, read + write streaming over a large buffer
  double attention_flops_per_s = 0;      // the causal attention op, forward, counted as its GEMMs
  double attention_saving_flops_per_s = 0;  // its forward when it also stores the probabilities
  double attention_backward_flops_per_s = 0;   // its backward with saved probabilities (2x forward FLOPs)
  double attention_recompute_flops_per_s = 0;  // its backward rebuilding them (selective, 3x forward FLOPs)
  double memory_bytes = 0;               // physical memory
  std::vector<attention_point> attention;  // on the seq x head dim x kv group grids; the scalars above at (512, 64, 1)
  std::map<std::string, kernel_rate> kernels;  // by op_name: add, rmsnorm, rope, swiglu, cross_entropy, ...
  double zero_fill_bandwidth = 0;        // bytes/s: the tape zeroing a fresh gradient buffer (one thread, memset)
  double op_overhead_s = 0;              // one op through the tape, forward and backward, beyond its kernel
  double optimizer_s_per_param = 0;      // zeroing gradients, their norm, clipping, AdamW, per parameter
  int collective_ranks = 0;              // ranks the collective table was measured with (0: not measured)
  std::vector<collective_point> collectives;  // increasing bytes

  double gemm_flops_per_s(int m, int n, int k) const;  // interpolated in log space over the grid
  // Attention rates interpolated in log space over the grid (edges beyond it).
  attention_point attention_at(int seq, int head_dim, int kv_group) const;
  // Seconds of `op` per element (0 when the profile lacks it: an older profile).
  double kernel_seconds(const std::string& op, bool backward, double elements) const;
  // Seconds of one collective call on `bytes` per rank between collective_ranks ranks: log-log
  // interpolation in the table, beyond it the largest message's bandwidth. 0 without a table.
  double collective_seconds(collective_op op, double bytes) const;
};

// The compute part (GEMM grid, bandwidth, attention, kernels, tape, optimizer); the collective
// table needs processes and a fabric, so `wb plan --calibrate` (cli/) measures and adds it.
device_profile device_profile_measure(compute_backend& backend, int threads);
// The memory-bound kernels, the tape's own work and the optimizer (device_profile_kernels.cpp).
void device_profile_measure_kernels(compute_backend& backend, device_profile& p);
std::string device_profile_path();       // $WB_PROFILE, else ~/.cache/wb/profile-cpu.json
std::optional<device_profile> device_profile_load(const std::string& path);
void device_profile_save(const device_profile& p, const std::string& path);

}  // namespace wb
