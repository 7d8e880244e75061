// wb plan: what a recipe's layout costs on its cluster, predicted from the recipe alone in well
// under a millisecond. Memory per device by category for the most-loaded pipeline stage, FLOPs per
// step, step time split into compute, exposed communication and pipeline bubble, MFU, tokens/s, time
// to train and dollars. The formulas and every assumption behind them are in docs/plan.md; each
// source is cited where its formula is coded (plan_memory.cpp, plan_flops.cpp, plan_time.cpp).
// The JSON form (plan_to_json) is versioned: plan_json_version.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/catalog/instance.hpp"
#include "core/recipe/recipe.hpp"

namespace wb {

struct device_profile;  // measured on this machine (device_profile.hpp); used for instance "local"

constexpr int plan_json_version = 2;  // 2: memory_by_rank, time_predicted, null times

// The layout a plan is for: the recipe's parallel and cluster sections after dp = "auto".
struct plan_layout {
  std::string instance;
  int nodes = 1, devices = 1;            // devices = nodes x devices per node
  int dp = 1, tp = 1, pp = 1, virtual_stages = 1, zero = 0, microbatch = 1, global_batch = 1;
  int microbatches = 1;                  // per replica per step = global_batch / (microbatch x dp)
  std::string recompute = "none";
  bool sequence_parallel = false;
  bool overlap_grad_reduce = true;       // recipe's parallel.overlap_grad_reduce (ZeRO-3 prefetches with it)
};

// Bytes on one device of the stage that needs the most (`stage`, 0-based).
struct plan_memory {
  double parameters = 0, gradients = 0, optimizer_state = 0;
  double activations = 0;                // saved for backward, all microbatches in flight
  double logits = 0;                     // last stage: output-layer logits and loss buffers
  double comm_buffers = 0;               // gradient buckets, ZeRO gather buffers, pipeline sends
  double temporaries = 0;                // transient workspace at the peak (local CPU engine only)
  double reserve = 0;                    // runtime context and fragmentation
  double total_bytes = 0, device_bytes = 0;
  bool fits = false;
  int stage = 0;
  int rank = 0;                          // local plans: the rank (tp innermost, then dp, then pp)
};

struct plan_time {
  double compute_s = 0;                  // the most-loaded stage's forward + backward (+ recompute)
  double optimizer_s = 0;
  double tp_comm_s = 0, dp_comm_s = 0, pp_comm_s = 0;  // exposed (not overlapped) communication
  double bubble_s = 0;                   // pipeline fill and drain
  double step_s = 0;
};

struct plan_result {
  plan_layout layout;
  long long params = 0;                  // whole model, untied embeddings counted twice
  double tokens_per_step = 0;
  double model_flops_per_step = 0;       // PaLM convention: no recompute
  double hardware_flops_per_step = 0;    // with recompute
  plan_memory memory;
  std::vector<plan_memory> memory_by_rank;  // local plans: every rank's peak, in rank order
  plan_time time;
  double mfu = 0;                        // model FLOPs / (devices x peak x step time)
  double tokens_per_s = 0;
  double steps = 0;                      // train.steps, or data.tokens / tokens per step
  double time_to_train_s = 0;
  double device_hours = 0;
  std::optional<double> cost_usd;        // absent when the instance has no price
  std::optional<double> price_per_hour;  // per instance (node)
  std::vector<std::string> notes;        // assumptions that matter for this plan
};

// Why a layout cannot run at all (divisibility, unknown instance). Fitting is not an error: see
// plan_memory::fits.
struct plan_error : std::runtime_error {
  std::string key;                       // recipe field at fault, e.g. "parallel.tp"
  plan_error(std::string key, const std::string& what) : std::runtime_error(what), key(std::move(key)) {}
};

// The recipe's layout on `inst` (dp as resolved; devices from the cluster, or the processes here).
plan_layout plan_layout_of(const recipe& r, const instance_spec& inst);

// The plan for the recipe's own layout. `local` is required when the instance is "local".
plan_result plan_recipe(const recipe& r, const instance_catalog& catalog, const device_profile* local = nullptr);

std::string plan_text(const plan_result& p);                                  // the `wb plan` report
std::string plan_diff_text(const plan_result& before, const plan_result& after);  // what changed
nlohmann::json plan_to_json(const plan_result& p);                            // docs/plan.md

}  // namespace wb
