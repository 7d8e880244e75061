// What the CPU engine holds at the peak of a step. Per layer and token (N = microbatch x seq_len
// tokens), as the tape keeps it (core/tensor/ops.cpp; bf16 as core/model/mixed_precision.hpp lays
// it out). e is the width of a GEMM input the backward keeps: 4 in fp32, 2 in bf16 (a bf16 copy
// replaces the fp32 tensor).
//   Llama, fp32 (4 B): the block input and the residual sum (2C), q and k after RoPE and v
//          (Q + 2KV), gate and up outputs (2F), rstd (2), lse (NH);
//   GPT,   fp32: the same with q, k, v after their biases, the fc output kept by GELU (F) and
//          LayerNorm's mean and rstd (4);
//   GEMM inputs (e each): the two norm outputs (2C), the attention output (Q) and the input of the
//          MLP's output projection (F);
//   attention probabilities NH x T (fp32, or bf16 in bf16 runs) unless recompute is selective.
//   bf16 runs also hold a bf16 copy of every GEMM weight from its forward to its backward
//   (charged to parameters).
//   Full recompute keeps each block's input (C, fp32) and rebuilds one block at a time.
// The step's peak is at the start of backward: every layer's activations, the logits (N, V) and
// their gradient, or, under full recompute, the last block rebuilt with its gradients.
#include "core/plan/local_memory.hpp"

#include "core/model/param_layout.hpp"

namespace wb {
namespace {

constexpr double f32 = 4;

struct layer_bytes {
  double full = 0;     // bytes one layer keeps per token, with the attention probabilities
  double probs = 0;    // of which the probabilities
  double weights = 0;  // GEMM weight elements of one layer
};

layer_bytes per_layer(const model_config& c, double e) {
  double C = c.dim, HD = c.head_dim(), NH = c.heads, KVH = c.kv_heads > 0 ? c.kv_heads : c.heads;
  double Q = NH * HD, KV = KVH * HD, F = c.ffn;
  bool gpt = c.family == "gpt";
  layer_bytes b;
  b.probs = NH * c.seq_len * (e == 2 ? 2 : f32);
  double fp32_kept = 2 * C + Q + 2 * KV + (gpt ? 1 : 2) * F + (gpt ? 4 : 2) + NH;
  double gemm_inputs = 2 * C + Q + F;
  b.full = f32 * fp32_kept + e * gemm_inputs + b.probs;
  b.weights = C * Q + 2 * C * KV + Q * C + (gpt ? 2 : 3) * C * F;
  return b;
}

}  // namespace

plan_memory local_step_memory(const model_config& c, const plan_layout& l, double device_bytes) {
  bool bf16 = c.precision == "bf16";
  double e = bf16 ? 2 : f32;
  plan_memory m;
  double P = double(param_count(c));
  m.parameters = P * f32;
  m.gradients = P * f32;
  m.optimizer_state = 2 * P * f32;  // AdamW first and second moments

  double N = double(l.microbatch) * c.seq_len;  // tokens per microbatch
  double C = c.dim, V = c.vocab;
  layer_bytes lb = per_layer(c, e);
  double batch_ids = 2.0 * l.global_batch * c.seq_len * 4;  // the step's i32 tokens and targets
  // The final norm keeps its input (the last block's output, fp32), the output layer its input
  // (the norm's output, e), plus the norm's statistics.
  double final_norm = N * (f32 * C + e * C + f32 * (c.family == "gpt" ? 2 : 1));
  double gpt_positions = c.family == "gpt" ? c.seq_len * 4.0 : 0;
  bool full = l.recompute == "full";

  double layer_kept = full ? f32 * C : lb.full - (l.recompute == "selective" ? lb.probs : 0);
  m.activations = c.layers * N * layer_kept + final_norm + gpt_positions + batch_ids;
  // bf16 weight copies alive at the loss's backward: every layer's (none of them under full
  // recompute, whose forward ran untaped) and the output layer's.
  if (bf16) m.parameters += 2 * ((full ? 0 : c.layers * lb.weights) + V * C);

  // Candidate peaks beyond that: backward of the loss (fp32 logits, their gradient and the loss's
  // log-sum-exp); under full recompute, the last block rebuilt (the final norm and output layer
  // are gone by then) at the backward of its MLP's output projection: the block's output gradient,
  // the two gradients of the residual add (C each) and the gradient of the projection's input (F),
  // with that block's bf16 weight copies.
  double at_loss = f32 * N * (2 * V + 1);
  double at_rebuild = full ? N * (lb.full + f32 * (3 * C + c.ffn)) - final_norm + (bf16 ? 2 * (lb.weights - V * C) : 0) : 0;
  if (at_loss >= at_rebuild) m.logits = at_loss;
  else m.temporaries = at_rebuild;
  m.total_bytes = m.parameters + m.gradients + m.optimizer_state + m.activations + m.logits + m.temporaries;
  m.device_bytes = device_bytes;
  m.fits = m.total_bytes <= device_bytes;
  return m;
}

}  // namespace wb
