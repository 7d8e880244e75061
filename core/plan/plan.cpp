// plan_recipe: the layout from the recipe, then memory (plan_memory.cpp for accelerators,
// local_memory.cpp for this machine's engine), FLOPs (plan_flops.cpp), time (plan_time.cpp) and
// what they imply: MFU, tokens/s, days and dollars.
#include "core/plan/plan.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/model/param_layout.hpp"
#include "core/plan/local_memory.hpp"
#include "core/plan/local_parallel_time.hpp"
#include "core/plan/plan_flops.hpp"
#include "core/plan/plan_memory.hpp"
#include "core/plan/plan_time.hpp"
#include "core/run/machine.hpp"

namespace wb {

plan_layout plan_layout_of(const recipe& r, const instance_spec& inst) {
  plan_layout l;
  const parallel_config& p = r.parallel;
  l.instance = inst.name;
  l.nodes = r.cluster.nodes;
  l.devices = inst.is_local ? p.world() : r.cluster.nodes * inst.devices_per_node;
  l.dp = p.dp;
  l.tp = p.tp;
  l.pp = p.pp;
  l.virtual_stages = p.virtual_stages;
  l.zero = p.zero;
  l.microbatch = p.microbatch;
  l.global_batch = p.global_batch;
  l.microbatches = p.dp > 0 ? p.microbatches() : 0;
  l.recompute = p.recompute;
  l.sequence_parallel = p.sequence_parallel;
  l.overlap_grad_reduce = p.overlap_grad_reduce;
  return l;
}

plan_result plan_recipe(const recipe& r, const instance_catalog& catalog, const device_profile* local) {
  const instance_spec* inst = catalog_find(catalog, r.cluster.instance);
  if (!inst) throw plan_error("cluster.instance", fmt::format("unknown instance type '{}'", r.cluster.instance));
  plan_layout l = plan_layout_of(r, *inst);
  if (l.dp <= 0 || l.microbatches <= 0)
    throw plan_error("parallel.dp", fmt::format("the layout does not split: dp = {}, microbatches per replica = {}", l.dp, l.microbatches));
  if (inst->is_local && !local)
    throw plan_error("cluster.instance", "planning for this machine needs its device profile: run `wb plan --calibrate` once");
  if (!inst->is_local && inst->device_peak_flops <= 0)
    throw plan_error("cluster.instance", fmt::format("the catalog has no peak FLOP/s for '{}' ({}): its figures are unverified", inst->name, inst->device));

  const model_config& c = r.model;
  plan_result p;
  p.layout = l;
  p.params = param_count(c);
  p.tokens_per_step = double(r.tokens_per_step());
  p.model_flops_per_step = model_flops_per_token(c) * p.tokens_per_step;
  p.hardware_flops_per_step = hardware_flops_per_token(c, l.recompute, true) * p.tokens_per_step;

  if (inst->is_local) {
    double device = local->memory_bytes > 0 ? local->memory_bytes : double(machine_probe().memory_total);
    p.memory_by_rank = local_memory_by_rank(c, l, device / l.devices);
    p.memory = *std::max_element(p.memory_by_rank.begin(), p.memory_by_rank.end(),
                                 [](const plan_memory& a, const plan_memory& b) { return a.total_bytes < b.total_bytes; });
  } else {
    p.memory = device_memory(c, l, *inst);
  }

  p.steps = double(r.train.steps);
  p.price_per_hour = r.cluster.price_per_hour ? r.cluster.price_per_hour : inst->price_per_hour;
  device_speed speed = device_speed_of(*inst, local);
  bool local_parallel = inst->is_local && (l.tp > 1 || l.pp > 1);
  if (local_parallel) {
    int cores = machine_probe().cores;
    try {
      p.time = local_parallel_step_time(c, l, *local, cores);
    } catch (const std::invalid_argument& e) {
      throw plan_error(l.virtual_stages > 1 ? "parallel.virtual_stages" : "parallel.pp", e.what());
    }
    if (double(l.devices) * local->threads > cores)
      p.notes.push_back(fmt::format("{} ranks x {} thread(s) share {} cores: passes running at once slow down by their threads / "
                                    "cores (docs/plan.md, local tensor and pipeline parallel)", l.devices, local->threads, cores));
  } else {
    p.time = step_time(c, l, *inst, speed);
  }
  p.mfu = p.model_flops_per_step / (double(l.devices) * speed.peak_flops * p.time.step_s);
  p.tokens_per_s = p.tokens_per_step / p.time.step_s;
  p.time_to_train_s = p.steps * p.time.step_s;
  p.device_hours = p.time_to_train_s / 3600.0 * l.devices;
  if (p.price_per_hour) p.cost_usd = *p.price_per_hour * l.nodes * p.time_to_train_s / 3600.0;

  if (!inst->is_local) {
    p.notes.push_back("GEMMs at 75% of the device's dense peak (docs/plan.md, GEMM efficiency)");
    if (l.recompute == "none") p.notes.push_back("no recompute: attention scores are stored (an unfused softmax)");
  } else {
    p.notes.push_back(fmt::format("measured profile: {} thread(s), {}", local->threads, local->cpu));
    if (l.devices > 1 && local->collective_ranks == 0)
      p.notes.push_back("the exchanges between ranks are not priced: the profile has no collective table; run `wb plan --calibrate`");
  }
  return p;
}

}  // namespace wb
