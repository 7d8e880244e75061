// Step time. Per microbatch and layer, forward: the dense GEMMs of plan_flops.hpp, the attention
// core, and memory-bound work (norms, RoPE, activation functions, residual adds, softmax) at the
// device's memory bandwidth; backward: each GEMM twice (input and weight gradients, shapes
// transposed), memory traffic twice. Recompute adds the forward work it reruns.
#include "core/plan/plan_time.hpp"

#include <algorithm>
#include <cmath>

#include "core/plan/local_time.hpp"
#include "core/plan/plan_memory.hpp"

namespace wb {
namespace {


// Fraction of dense peak that large bf16 GEMMs reach on an accelerator. Assumption, documented in
// docs/plan.md ("GEMM efficiency"): cuBLAS on A100/H100 sustains about 70-80% of dense peak on
// transformer-sized GEMMs; 0.75 is used for every accelerator until a device profile replaces it.
constexpr double accelerator_gemm_efficiency = 0.75;
// Latency per collective call: NCCL's ring start-up on NVLink is a few microseconds, EFA's about
// 15-20 us (assumption, docs/plan.md "Communication").
constexpr double intra_node_latency_s = 5e-6, inter_node_latency_s = 20e-6;

struct link {
  double bandwidth = 0, latency = 0;
};

// A group of `n` ranks whose consecutive members are `stride` devices apart: inside a node while
// n * stride <= devices per node (Megatron-LM orders ranks tp, then dp/pp outward).
link group_link(const instance_spec& inst, int n, int stride) {
  if (inst.is_local) return {0, 0};
  if ((long long)n * stride <= inst.devices_per_node) return {inst.intra_node_bandwidth, intra_node_latency_s};
  return {inst.inter_node_bandwidth / inst.devices_per_node, inter_node_latency_s};
}

double collective_seconds(double bytes, int n, double factor, const link& k) {
  if (n <= 1 || k.bandwidth <= 0) return 0;
  return factor * bytes / k.bandwidth + 2.0 * (n - 1) * k.latency;
}

}  // namespace

double device_speed::gemm_seconds(const gemm_shape& g, double element_bytes) const {
  if (profile) return g.flops() / profile->gemm_flops_per_s(int(g.m), int(g.n), int(g.k));
  // Roofline: a GEMM is bound by compute at the achievable fraction of peak, or by reading and
  // writing its operands once at the memory bandwidth.
  double bytes = element_bytes * double(g.count) * (double(g.m) * g.k + double(g.k) * g.n + double(g.m) * g.n);
  return std::max(g.flops() / (peak_flops * gemm_efficiency), bytes / memory_bandwidth);
}

device_speed device_speed_of(const instance_spec& inst, const device_profile* local) {
  device_speed d;
  if (inst.is_local) {
    d.profile = local;
    d.memory_bandwidth = local ? local->memory_bandwidth : 0;
    for (auto& g : local ? local->gemm : std::vector<gemm_point>{}) d.peak_flops = std::max(d.peak_flops, g.flops_per_s);
  } else {
    d.peak_flops = inst.device_peak_flops;
    d.memory_bandwidth = inst.device_memory_bandwidth;
    d.gemm_efficiency = accelerator_gemm_efficiency;
  }
  return d;
}

double all_reduce_seconds(double bytes, int n, double bandwidth) {
  if (n <= 1 || bandwidth <= 0) return 0;
  return 2.0 * (n - 1) / n * bytes / bandwidth;
}

plan_time step_time(const model_config& c, const plan_layout& l, const instance_spec& inst, const device_speed& d) {
  // This machine's engine, op by op from its measured kernels (a profile that has them).
  if (inst.is_local && d.profile && !d.profile->kernels.empty()) return local_step_time(c, l, *d.profile);
  double e = c.precision == "bf16" ? 2 : 4;
  long long tokens = (long long)l.microbatch * c.seq_len;
  double layers = double(c.layers) / l.pp;

  // One layer, one microbatch.
  double fwd_gemm = 0, bwd_gemm = 0;
  for (auto& g : layer_dense_gemms(c, tokens, l.tp)) {
    fwd_gemm += d.gemm_seconds(g, e);
    bwd_gemm += d.gemm_seconds({g.m, g.k, g.n, g.count}, e)   // dX = dY W
              + d.gemm_seconds({g.k, g.n, g.m, g.count}, e);  // dW = X^T dY
  }
  // Attention core: per head, scores (S, S, HD) and probabilities x V (S, HD, S); causal kernels
  // skip the masked half.
  double heads = double(c.heads) / l.tp * l.microbatch;
  double half = (c.seq_len + 1.0) / (2.0 * c.seq_len);
  gemm_shape scores{c.seq_len, c.seq_len, c.head_dim(), (long long)heads};
  gemm_shape values{c.seq_len, c.head_dim(), c.seq_len, (long long)heads};
  // On this machine, the attention kernel as measured: storing the probabilities (recompute none)
  // or not; then no separate memory term for the scores.
  bool measured_attn = d.profile && d.profile->attention_flops_per_s > 0;
  double attn_rate = !measured_attn ? 0
                     : l.recompute == "none" && d.profile->attention_saving_flops_per_s > 0 ? d.profile->attention_saving_flops_per_s
                                                                                           : d.profile->attention_flops_per_s;
  double fwd_attn = measured_attn ? attention_core_flops(c, l.microbatch, l.tp, true) / attn_rate
                                  : (d.gemm_seconds(scores, e) + d.gemm_seconds(values, e)) * half;
  // Backward: measured on this machine's kernel when a profile has it (with saved or rebuilt
  // probabilities), else twice the forward (dQ, dK, dV and dP).
  double core_flops = attention_core_flops(c, l.microbatch, l.tp, true);
  bool measured_bwd = d.profile && d.profile->attention_backward_flops_per_s > 0;
  double bwd_attn = measured_bwd ? 2 * core_flops / d.profile->attention_backward_flops_per_s : 2 * fwd_attn;
  double rebuild_attn = measured_bwd ? 3 * core_flops / d.profile->attention_recompute_flops_per_s - bwd_attn
                                     : fwd_attn + 3 * tokens * c.heads / l.tp * double(c.seq_len) * e / d.memory_bandwidth;
  // Memory-bound work: each activation the layer saves is written once and read once forward;
  // backward moves about twice that (docs/plan.md "Memory-bound work"). Unfused softmax also
  // writes and reads the scores.
  double saved = layer_activation_bytes(c, l, "selective");
  double fwd_mem = 2 * saved / d.memory_bandwidth;
  if (l.recompute == "none" && !measured_attn) fwd_mem += 3 * tokens * c.heads / l.tp * double(c.seq_len) * e / d.memory_bandwidth;
  double bwd_mem = 2 * fwd_mem;

  double fwd = fwd_gemm + fwd_attn + fwd_mem;
  double bwd = bwd_gemm + bwd_attn + bwd_mem;
  if (l.recompute == "full") bwd += fwd;
  else if (l.recompute == "selective") bwd += rebuild_attn;

  // Tensor parallelism: forward two all-reduces of the hidden states per layer (attention and MLP
  // outputs), backward two (Narayanan et al. 2021 §3.2; with sequence parallelism the same volume
  // as all-gather + reduce-scatter pairs); full recompute repeats the forward pair.
  link tp_link = group_link(inst, l.tp, 1);
  double hidden = double(tokens) * c.dim * e;
  double tp_one = collective_seconds(hidden, l.tp, 2.0 * (l.tp - 1) / l.tp, tp_link);
  double tp_fwd = 2 * tp_one, tp_bwd = (2 + (l.recompute == "full" ? 2 : 0)) * tp_one;

  // The most-loaded stage: layers plus the output layer on the last stage.
  // The CPU engine does not pad the vocabulary; Megatron-LM does. The loss reads the logits for
  // its log-sum-exp and writes their gradient: three passes over (tokens, V) at memory bandwidth.
  double vocab = double(inst.is_local ? c.vocab : padded_vocab(c.vocab, l.tp)) / l.tp;
  double logits_pass = double(tokens) * vocab * 4 / d.memory_bandwidth;
  double head_fwd = d.gemm_seconds({tokens, (long long)vocab, c.dim, 1}, e) + logits_pass;
  double head_bwd = d.gemm_seconds({tokens, c.dim, (long long)vocab, 1}, e) + d.gemm_seconds({(long long)vocab, c.dim, tokens, 1}, e) + 2 * logits_pass;
  // Every stage runs its layers; the last also the output layer, so it decides.
  double stage_fwd = layers * (fwd + tp_fwd) + head_fwd;
  double stage_bwd = layers * (bwd + tp_bwd) + head_bwd;
  double per_micro = stage_fwd + stage_bwd;

  plan_time t;
  t.tp_comm_s = layers * (tp_fwd + tp_bwd) * l.microbatches;
  t.compute_s = per_micro * l.microbatches - t.tp_comm_s;
  // Bubble: (p - 1) / v microbatch slots of forward + backward (Narayanan et al. 2021 §2.2.1-2).
  t.bubble_s = l.pp > 1 ? (l.pp - 1.0) / l.virtual_stages * per_micro : 0;
  // Pipeline sends: each microbatch crosses each boundary forward and backward; on the critical
  // path once per microbatch plus the fill and drain (counted as exposed: Megatron-LM's batched
  // p2p overlaps little of it with 1F1B).
  link pp_link = group_link(inst, l.pp, l.tp * l.dp);
  if (l.pp > 1 && pp_link.bandwidth > 0)
    // Megatron-LM's scatter/gather optimisation (Narayanan et al. 2021 §4.1) sends 1/t of the
    // hidden states from each tensor-parallel rank and re-gathers them over the fast link; with
    // sequence parallelism each rank holds only its 1/t anyway.
    t.pp_comm_s = 2.0 * (l.microbatches + l.pp - 1) * (hidden / l.tp / pp_link.bandwidth + pp_link.latency);

  // Data parallelism, by ZeRO stage (Rajbhandari et al. 2020 §7: stages 0-2 move 2 Psi per step,
  // stage 3 3 Psi). Stages 0 and 1 reduce the accumulated gradients once per step (all-reduce, or
  // reduce-scatter + all-gather: the same volume), overlapped with the last microbatch's backward
  // (Megatron-LM --overlap-grad-reduce; PyTorch DDP buckets), at least the last bucket (the
  // embedding's, or Megatron-LM's bucket size) exposed. Stage 2 cannot keep full gradients, so it
  // reduce-scatters every microbatch; stage 3 also all-gathers the weights for each microbatch's
  // forward and backward. Those per-microbatch collectives are prefetched under the microbatch's
  // compute and exposed only beyond it.
  plan_memory mem = stage_memory(c, l, inst, 0);
  double params = mem.parameters / e * (l.zero >= 3 ? l.dp : 1);
  link dp_link = group_link(inst, l.dp, l.tp);
  double ring = l.dp > 1 ? (l.dp - 1.0) / l.dp : 0;
  double pass = collective_seconds(params * e, l.dp, ring, dp_link);  // one reduce-scatter or all-gather
  if (l.zero <= 1) {
    double dp_total = 2 * pass;
    // Exposed at least: what is reduced after backward. The embedding's gradient is final only when
    // backward ends (the lookup is the first op of forward), so its bucket goes last, in wb's
    // engine (core/parallel/grad_reduce_overlap.hpp) as in Megatron-LM's buckets, which follow
    // backward's order and hold at least max(40000000, 1000000 * dp) parameters (bucket_size's
    // default, megatron/core/distributed/distributed_data_parallel_config.py).
    double embedding = vocab * c.dim + (c.family == "gpt" ? double(c.seq_len) * c.dim : 0);
    double last = std::max({4e7, 1e6 * l.dp, embedding});
    double last_bucket = dp_total * std::min(1.0, last / std::max(1.0, params));
    t.dp_comm_s = std::max(dp_total - stage_bwd, last_bucket);
  } else {
    double per_micro_comm = (l.zero == 2 ? 1 : 3) * pass;
    t.dp_comm_s = l.microbatches * std::max(0.0, per_micro_comm - per_micro) + (l.zero == 2 ? pass : 0);
  }

  // Optimizer: AdamW streams master weights, gradients, both moments (read and write) and the
  // weights it writes back: 4 + 4 + 2*(4+4) + 4 + e bytes per parameter of the local shard.
  double shard = params / (l.zero >= 1 ? l.dp : 1);
  t.optimizer_s = shard * (4 + 4 + 16 + 4 + e) / d.memory_bandwidth;

  t.step_s = t.compute_s + t.tp_comm_s + t.bubble_s + t.pp_comm_s + t.dp_comm_s + t.optimizer_s;
  return t;
}

}  // namespace wb
