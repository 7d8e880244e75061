// What the CPU engine holds at the peak of a step, in fp32 (4 B per element). Per layer and token
// (N = microbatch x seq_len tokens), as the tape keeps it:
//   Llama: the block input and the RMSNorm outputs feeding the projections (kept by the matmuls),
//          q and k after RoPE, v, the attention output, the residual sum, the MLP norm output,
//          gate and up outputs and their SwiGLU product: 4C + 2Q + 2KV + 3F; rstd 2; lse NH;
//          probabilities NH x T unless recompute is selective.
//   GPT:   the same with LayerNorm (mean and rstd: 4) and fc+bias and GELU outputs (2F).
//   Full recompute keeps each block's input (C) and rebuilds one block at a time in backward.
// The step's peak is at the start of backward: every layer's activations, the logits (N, V) and
// their gradient (N, V), or, under full recompute, the last block rebuilt with its gradients.
#include "core/plan/local_memory.hpp"

#include <algorithm>

#include "core/model/param_layout.hpp"

namespace wb {
namespace {

constexpr double f32 = 4;

struct per_token {
  double layer_full = 0;    // elements one layer keeps with probabilities
  double probs = 0;         // of which the attention probabilities
};

per_token layer_elements(const model_config& c) {
  double C = c.dim, HD = c.head_dim(), NH = c.heads, KVH = c.kv_heads > 0 ? c.kv_heads : c.heads;
  double Q = NH * HD, KV = KVH * HD, F = c.ffn;
  bool gpt = c.family == "gpt";
  per_token p;
  p.probs = NH * c.seq_len;
  p.layer_full = 4 * C + 2 * Q + 2 * KV + (gpt ? 2 : 3) * F + (gpt ? 4 : 2) + NH + p.probs;
  return p;
}

}  // namespace

plan_memory local_step_memory(const model_config& c, const plan_layout& l, double device_bytes) {
  plan_memory m;
  double P = double(param_count(c));
  m.parameters = P * f32;
  m.gradients = P * f32;
  m.optimizer_state = 2 * P * f32;  // AdamW first and second moments

  double N = double(l.microbatch) * c.seq_len;          // tokens per microbatch
  double C = c.dim, V = c.vocab;
  per_token e = layer_elements(c);
  double batch_ids = 2.0 * l.global_batch * c.seq_len * 4;  // the step's i32 tokens and targets
  // The final norm keeps its input (the last block's output) and the output layer its output;
  // plus the norm's statistics.
  double final_norm = N * (2 * C + (c.family == "gpt" ? 2 : 1));
  double gpt_positions = c.family == "gpt" ? c.seq_len : 0;

  double layer_kept = l.recompute == "full" ? C : e.layer_full - (l.recompute == "selective" ? e.probs : 0);
  double acts = c.layers * N * layer_kept + final_norm + gpt_positions;
  // Candidate peaks, in elements: backward of the loss (logits, their gradient and the loss's
  // log-sum-exp); under full recompute, the last block rebuilt (the final norm and output layer
  // are gone by then) at the backward of its MLP's output projection: the block's output
  // gradient, the two gradients of the residual add (C each) and the gradient of the projection's
  // input (F).
  double at_loss = N * 2 * V + N;
  double at_rebuild = l.recompute == "full" ? N * (e.layer_full + 3 * C + c.ffn) - final_norm : 0;

  m.activations = acts * f32 + batch_ids;
  if (at_loss >= at_rebuild) {
    m.logits = at_loss * f32;
  } else {
    m.temporaries = at_rebuild * f32;
  }
  m.total_bytes = m.parameters + m.gradients + m.optimizer_state + m.activations + m.logits + m.temporaries;
  m.device_bytes = device_bytes;
  m.fits = m.total_bytes <= device_bytes;
  return m;
}

}  // namespace wb
