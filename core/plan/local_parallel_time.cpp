// local_parallel_step_time: the stages' pass costs into pipeline_timeline, run twice (with the
// pipeline sends priced, and free) to split the exposed sends from the bubble; then the
// post-schedule work every rank does at once, slowed by ranks x threads / cores when that is
// above one (the collective table and the optimizer were measured with the cores to themselves).
#include "core/plan/local_parallel_time.hpp"

#include <algorithm>
#include <cmath>

#include "core/model/param_layout.hpp"
#include "core/model/pipeline_stage.hpp"
#include "core/parallel/rank_layout.hpp"
#include "core/plan/local_time.hpp"
#include "core/plan/pipeline_timeline.hpp"

namespace wb {
namespace {

constexpr double f32 = 4;

// A collective of a tp or dp group under model parallel: the engine's sub_collective
// (core/parallel/sub_collective.hpp), whose all-reduce is a ring reduce-scatter then a ring
// all-gather over point-to-point messages, so priced as the table's two halves, not as the
// fabric's own all-reduce algorithm.
double group_seconds(const device_profile& p, collective_op op, double bytes, int ranks) {
  if (op != collective_op::all_reduce) return local_collective_seconds(p, op, bytes, ranks);
  return local_collective_seconds(p, collective_op::reduce_scatter, bytes, ranks) +
         local_collective_seconds(p, collective_op::all_gather, bytes, ranks);
}

double tp_seconds(const device_profile& p, const std::vector<tp_collective>& list, int tp) {
  double s = 0;
  for (const tp_collective& k : list) s += group_seconds(p, k.op, k.bytes, tp);
  return s;
}

// One message of `bytes` between two ranks, from the table: an all-gather between two ranks of a
// 2 x bytes buffer moves `bytes` each way (when the table was measured between two ranks).
double message_seconds(const device_profile& p, double bytes) {
  return p.collective_ranks == 2 ? p.collective_seconds(collective_op::all_gather, 2 * bytes)
                                 : local_collective_seconds(p, collective_op::all_gather, 2 * bytes, 2);
}

// Parameters rank (tp 0, dp 0) of `stage` holds: its chunks' layers, ends and tied copy, tp-sharded.
double stage_params(const model_config& c, const plan_layout& l, int stage) {
  double P = 0;
  std::vector<param_spec> whole = param_layout(c);
  for (size_t i : stage_param_indices(c, {stage, l.pp, l.virtual_stages}))
    P += double(shape_numel(shard_shape(whole[i], tensor_parallel_shard(c, whole[i], l.tp, 0))));
  return P;
}

}  // namespace

plan_time local_parallel_step_time(const model_config& c, const plan_layout& l, const device_profile& p, int cores) {
  const int tp = std::max(1, l.tp), pp = std::max(1, l.pp), v = std::max(1, l.virtual_stages), dp = std::max(1, l.dp);
  const bool sp = l.sequence_parallel && tp > 1;
  pipeline_timeline_input in;
  in.stages = pp, in.virtual_stages = v, in.microbatches = l.microbatches;
  in.ranks_per_stage = tp * dp, in.threads_per_rank = std::max(1, p.threads), in.cores = std::max(1, cores);
  for (int s = 0; s < pp; ++s) {
    pipeline_stage_costs k;
    for (int local = 0; local < v; ++local) {
      microbatch_time t = local_microbatch_time(c, l, p, {stage_chunk_span({s, pp, v}, c.layers, local), tp, sp});
      k.forward_s.push_back(t.forward_s), k.backward_s.push_back(t.backward_s);
      k.forward_tp_s.push_back(tp_seconds(p, t.forward_collectives, tp));
      k.backward_tp_s.push_back(tp_seconds(p, t.backward_collectives, tp));
    }
    in.costs.push_back(std::move(k));
  }
  // The activations (B, T, C) between stages, or this rank's block of them under sequence parallel.
  double activation_bytes = f32 * double(l.microbatch) * c.seq_len * c.dim / (sp ? tp : 1);
  in.message_s = pp > 1 ? message_seconds(p, activation_bytes) : 0;
  pipeline_timeline_result with_sends = pipeline_timeline(in);
  in.message_s = 0;
  pipeline_timeline_result free_sends = pipeline_timeline(in);

  // The stage that computes longest sets compute and tp; the rest of its step is the bubble.
  size_t busiest = size_t(std::max_element(free_sends.compute_s.begin(), free_sends.compute_s.end()) - free_sends.compute_s.begin());
  plan_time t;
  t.compute_s = free_sends.compute_s[busiest] - free_sends.tp_s[busiest];
  t.tp_comm_s = free_sends.tp_s[busiest];
  t.bubble_s = std::max(0.0, free_sends.step_s - free_sends.compute_s[busiest]);
  t.pp_comm_s = std::max(0.0, with_sends.step_s - free_sends.step_s);

  // After the schedule every rank works at once (core/train/trainer.cpp, pipeline_step.cpp).
  const int world = tp * dp * pp;
  const double share = std::max(1.0, double(world) * std::max(1, p.threads) / std::max(1, cores));
  if (pp > 1 && c.tied_embeddings)  // the first and last stage swap the tied embedding's gradient shard
    t.pp_comm_s += share * message_seconds(p, f32 * double(c.vocab) / tp * c.dim);
  // The gradient norm's partial sums (and the loss): one small all-reduce over each group.
  t.tp_comm_s += share * group_seconds(p, collective_op::all_reduce, 16, tp);
  t.pp_comm_s += share * group_seconds(p, collective_op::all_reduce, 16, pp);
  double small = group_seconds(p, collective_op::all_reduce, 16, dp);
  // Sequence parallel: the replicated norm weights' gradients summed over the tp group.
  if (sp) t.tp_comm_s += share * group_seconds(p, collective_op::all_reduce, f32 * (2.0 * c.layers + 1) * c.dim, tp);
  double P = 0;
  for (int s = 0; s < pp; ++s) P = std::max(P, stage_params(c, l, s));
  bool zero1 = l.zero >= 1 && dp > 1;
  if (dp > 1)
    t.dp_comm_s = share * local_dp_exchange_seconds(c, l, P, [&](collective_op op, double bytes) { return group_seconds(p, op, bytes, dp); });
  t.dp_comm_s += share * small;
  t.optimizer_s = share * (zero1 ? std::ceil(P / dp) : P) * p.optimizer_s_per_param;
  t.step_s = t.compute_s + t.tp_comm_s + t.bubble_s + t.pp_comm_s + t.dp_comm_s + t.optimizer_s;
  return t;
}

}  // namespace wb
