// Per-device memory on an accelerator cluster. Element sizes: bf16 activations and weights (2 B)
// under mixed precision, fp32 (4 B) otherwise. Letters: s sequence, b microbatch, h (C) model
// dim, a heads, t tensor-parallel degree, F ffn. Activation elements per token and layer, as the
// backward pass needs them (Korthikanti et al. 2022 §4.1 without the dropout masks, which
// Llama-family pre-training does not use):
//   norm inputs and the projections' inputs  4h  (replicated across t unless sequence parallel,
//                                             which keeps the projections' input as its block and
//                                             gathers it again in backward, as Megatron-LM and
//                                             wb's engine do)
//   q, k, v after RoPE                        (a*hd + 2*kv*hd)/t
//   attention output (input of wo)            a*hd/t
//   MLP: Llama gate, up and their product     3F/t;  GPT fc output and GELU output  2F/t
//   scores (softmax output), unfused path     a*s/t  (dropped by selective recompute; the flash
//                                             path then keeps one fp32 log-sum-exp per head)
// For GPT (a*hd = h, F = 4h) this is 32sbh + 2as^2b bytes, Korthikanti's 34sbh + 5as^2b less the
// dropout masks (2sbh + as^2b) and the softmax input the fused kernel does not keep (2as^2b).
#include "core/plan/plan_memory.hpp"

#include <algorithm>
#include <cmath>

#include "core/model/param_layout.hpp"
#include "core/plan/zero_buckets.hpp"

namespace wb {
namespace {

constexpr double gib = 1024.0 * 1024 * 1024;

double kv_heads_of(const model_config& c) { return c.kv_heads > 0 ? c.kv_heads : c.heads; }

// Parameters of one transformer layer held by one tensor-parallel rank: column- and row-parallel
// matrices split by t; norm weights and row-parallel biases replicated (Megatron-LM).
double layer_params_per_rank(const model_config& c, int tp) {
  double C = c.dim, Q = c.heads * double(c.head_dim()), KV = kv_heads_of(c) * c.head_dim(), F = c.ffn;
  double attn = (C * Q + 2 * C * KV + Q * C) / tp;
  if (c.family == "gpt")
    return attn + (Q + 2 * KV) / tp + C    // column biases split, wo bias replicated
           + 2 * C * F / tp + F / tp + C   // fc, proj and their biases
           + 4 * C;                        // two LayerNorms
  return attn + 3 * C * F / tp + 2 * C;    // SwiGLU w1, w3, w2 and two RMSNorms
}

}  // namespace

model_state_bytes zero_model_states(double params, int dp, int zero, bool bf16, double grad_bytes) {
  // ZeRO (Rajbhandari et al. 2020 §5): stage 1 partitions optimizer states, 2 also gradients,
  // 3 also parameters, each over the data-parallel group. K = 12 bytes of fp32 master weights and
  // Adam moments under mixed precision; in fp32 training the weights are the master copy (K = 8).
  model_state_bytes m;
  m.parameters = params * (bf16 ? 2.0 : 4.0);
  m.gradients = params * grad_bytes;
  m.optimizer_state = params * (bf16 ? 12.0 : 8.0);
  if (zero >= 1) m.optimizer_state /= dp;
  if (zero >= 2) m.gradients /= dp;
  if (zero >= 3) m.parameters /= dp;
  return m;
}

long long padded_vocab(long long vocab, int tp) {
  long long multiple = 128LL * tp;  // Megatron-LM --make-vocab-size-divisible-by 128, times tp
  return (vocab + multiple - 1) / multiple * multiple;
}

double layer_activation_bytes(const model_config& c, const plan_layout& l, const std::string& recompute) {
  bool bf16 = c.precision == "bf16";
  double e = bf16 ? 2 : 4, t = l.tp, rep = l.sequence_parallel ? t : 1;
  double tokens = double(l.microbatch) * c.seq_len;
  double C = c.dim, Q = c.heads * double(c.head_dim()), KV = kv_heads_of(c) * c.head_dim(), F = c.ffn;
  if (recompute == "full") return tokens * C / rep * e;  // each layer keeps only its input
  double per_token = 4 * C / rep + (Q + 2 * KV) / t + Q / t + (c.family == "gpt" ? 2 : 3) * F / t;
  double bytes = tokens * per_token * e;
  if (recompute == "selective") bytes += tokens * c.heads / t * 4.0;  // fp32 log-sum-exp per head
  else bytes += tokens * c.heads / t * c.seq_len * e;                 // softmax output, a*s per token
  return bytes;
}

double accelerator_reserve_bytes(const instance_spec& inst) {
  if (inst.is_local) return 0;
  // Assumption (docs/plan.md "Reserve"): 2 GiB for the runtime context, GEMM workspaces and
  // collective buffers, plus 5% of the device for allocator fragmentation.
  return 2 * gib + 0.05 * inst.device_memory_bytes;
}

plan_memory stage_memory(const model_config& c, const plan_layout& l, const instance_spec& inst, int stage) {
  bool bf16 = c.precision == "bf16";
  double e = bf16 ? 2 : 4;
  int pp = l.pp;
  bool first = stage == 0, last = stage == pp - 1;
  double layers = double(c.layers) / pp;
  double V = double(padded_vocab(c.vocab, l.tp)), C = c.dim;

  // Parameters on this device: its layers, the (vocabulary-parallel) embedding on the first stage,
  // the final norm and output layer on the last (a tied output layer on another stage keeps its
  // own copy, as Megatron-LM does).
  double params = layers * layer_params_per_rank(c, l.tp);
  if (first) params += V * C / l.tp + (c.family == "gpt" ? double(c.seq_len) * C : 0);
  if (last) {
    params += (c.family == "gpt" ? 2 : 1) * C;
    if (!c.tied_embeddings || pp > 1) params += V * C / l.tp;
  }
  // Gradients are reduced in the training precision's width; Megatron-LM keeps fp32 main grads
  // (--accumulate-allreduce-grads-in-fp32 is its bf16 default), so 4 bytes either way.
  model_state_bytes ms = zero_model_states(params, l.dp, l.zero, bf16, 4.0);

  plan_memory m;
  m.stage = stage;
  m.parameters = ms.parameters;
  m.gradients = ms.gradients;
  m.optimizer_state = ms.optimizer_state;

  // Activations: 1F1B keeps min(m, pp - stage) microbatches in flight on a stage; the interleaved
  // schedule multiplies by 1 + (pp-1)/(pp*v) (Megatron-LM theoretical_memory_usage.py).
  double in_flight = std::min<double>(l.microbatches, pp - stage);
  if (l.virtual_stages > 1) in_flight = std::min<double>(l.microbatches, std::ceil(pp * (1.0 + (pp - 1.0) / (pp * l.virtual_stages))));
  double per_layer = layer_activation_bytes(c, l, l.recompute);
  m.activations = in_flight * layers * per_layer;
  // Recomputation rebuilds one layer's activations at a time in backward.
  if (l.recompute != "none") m.activations += layer_activation_bytes(c, l, "none") - per_layer;

  double tokens = double(l.microbatch) * c.seq_len;
  if (last) {
    // Logits of the microbatch in flight: the GEMM output plus the fp32 copy the vocabulary-parallel
    // cross-entropy computes in (Megatron-LM fused_vocab_parallel_cross_entropy), and the final
    // norm's input.
    m.logits = tokens * V / l.tp * (e + 4) + tokens * C / (l.sequence_parallel ? l.tp : 1) * e;
  }

  // Communication buffers: a send and a receive of the hidden states between pipeline stages; the
  // sequence-parallel all-gather buffer. ZeRO-2 and 3 as wb's engine runs them (zero2.hpp,
  // zero3.hpp; pp = 1, so this stage holds every outer parameter): whole fp32 gradient buckets of
  // the outer parameters (embedding, GPT's positions, final norm, output layer), open through
  // backward, and of the one layer whose backward runs; ZeRO-3 also keeps the outer parameters
  // gathered for the run and gathers one layer's at a time, two when it prefetches the next layer
  // (zero3_prefetches).
  double hidden = tokens * C * e;
  if (pp > 1) m.comm_buffers += 2 * hidden;
  if (l.tp > 1) m.comm_buffers += hidden;
  if (l.zero >= 2 && l.dp > 1) {
    double layer = layer_params_per_rank(c, l.tp), outer = params - layers * layer;
    m.comm_buffers += (outer + layer) * 4;
    if (l.zero == 3) m.comm_buffers += (outer + layer * (zero3_prefetches(l) ? 2 : 1)) * (bf16 ? 2.0 : 4.0);
  }

  m.reserve = accelerator_reserve_bytes(inst);
  m.total_bytes = m.parameters + m.gradients + m.optimizer_state + m.activations + m.logits + m.comm_buffers + m.reserve;
  m.device_bytes = inst.device_memory_bytes;
  m.fits = m.total_bytes <= m.device_bytes;
  return m;
}

plan_memory device_memory(const model_config& c, const plan_layout& l, const instance_spec& inst) {
  plan_memory worst;
  for (int s = 0; s < l.pp; ++s) {
    plan_memory m = stage_memory(c, l, inst, s);
    if (s == 0 || m.total_bytes > worst.total_bytes) worst = m;
  }
  return worst;
}

}  // namespace wb
