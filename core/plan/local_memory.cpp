// What the CPU engine holds at the peak of a step, rank by rank. Per layer and token (N = microbatch
// x seq_len tokens), as the tape keeps it (core/tensor/ops.cpp; bf16 as core/model/mixed_precision.hpp
// lays it out), with Q, KV, F and NH this rank's tensor-parallel share (Megatron-LM: heads and ffn
// units split, C whole). e is the width of a GEMM input the backward keeps: 4 in fp32, 2 in bf16 (a
// bf16 copy replaces the fp32 tensor).
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
// Sequence parallel (tensor_parallel_ops.hpp) holds the residual stream, the norms' inputs, outputs
// and statistics and a chunk's output for N/tp tokens (the S below is tp, else 1): the gathered
// GEMM inputs are not kept but gathered again in backward (as Megatron-LM does).
// A model chunk (pipeline_stage.hpp: the whole model without pipeline parallel) keeps its layers'
// activations per microbatch in flight, plus: the embedding chunk GPT's positions; the last chunk
// the final norm's input and output and the logits (N, V) with their log-sum-exp; any other chunk
// its output (N, C), which the stage holds until that microbatch's backward. A stage's forwards and
// backwards come in the order of the engine's schedule (pipeline_replay.hpp); the peak is the
// largest moment of that walk: during a backward, the chunks in flight plus what that backward
// allocates (the logits' gradient; under full recompute the rebuilt block; else the last block's
// MLP gradients, below).
#include "core/plan/local_memory.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/model/param_layout.hpp"
#include "core/parallel/collective.hpp"
#include "core/parallel/rank_layout.hpp"
#include "core/plan/pipeline_replay.hpp"
#include "core/plan/zero_buckets.hpp"

namespace wb {
namespace {

constexpr double f32 = 4;

// One rank's share of the model's widths under tensor parallel (chunk_range, as param_layout.hpp
// splits them).
struct rank_widths {
  double C, Q, KV, F, NH, V;
  double S;  // the tokens' split: tp under sequence parallel, else 1
};

rank_widths widths_of(const model_config& c, int tp, int tp_rank, bool sequence_parallel) {
  double HD = c.head_dim(), KVH = c.kv_heads > 0 ? c.kv_heads : c.heads;
  auto share = [&](double n) { return double(chunk_range(size_t(n), tp, tp_rank).size); };
  return {double(c.dim), share(c.heads) * HD, share(KVH) * HD, share(c.ffn), share(c.heads), share(c.vocab),
          sequence_parallel && tp > 1 ? double(tp) : 1.0};
}

struct layer_bytes {
  double full = 0;      // bytes one layer keeps per token, with the attention probabilities
  double probs = 0;     // of which the probabilities
  double weights = 0;   // GEMM weight elements of one layer
  double backward = 0;  // bytes per token its MLP's backward adds at its largest, with the block's
                        // output gradient
  double backward_weight = 0;  // bf16: bytes of the output projection's fp32 weight gradient then
};

// The MLP backward's largest moment, walking the tape (core/tensor/tape.cpp allocates each input's
// gradient when a node runs, and frees an output's gradient and a node's saved tensors after it):
// with dy (C) alive, the residual add gives dx1 and the projection's output gradient (2C); GPT's
// projection bias add one more (C, freed after). The output projection then allocates the gradient
// of its input (F): 3C + F, plus in bf16 the fp32 gradient of its weight's bf16 copy. After it the
// projection's output gradient and its saved input (e F) go; SwiGLU allocates the gradients of
// gate and up (2F): 2C + 3F - eF; GELU the gradient of the fc output (F): 2C + 2F - eF.
// Under sequence parallel dy, dx1 and GPT's bias-add gradient are blocks (C/S), and the
// reduce-scatter's backward gathers the projection's output gradient whole (C): 2C/S + C + F.
layer_bytes per_layer(const model_config& c, const rank_widths& w, double e) {
  double C = w.C, Q = w.Q, KV = w.KV, F = w.F, NH = w.NH;
  bool gpt = c.family == "gpt";
  layer_bytes b;
  b.probs = NH * c.seq_len * (e == 2 ? 2 : f32);
  double S = w.S;
  double fp32_kept = 2 * C / S + Q + 2 * KV + (gpt ? 1 : 2) * F + (gpt ? 4 : 2) / S + NH;
  double gemm_inputs = 2 * C / S + Q + F;  // the norm outputs: blocks under sequence parallel
  b.full = f32 * fp32_kept + e * gemm_inputs + b.probs;
  b.weights = C * Q + 2 * C * KV + Q * C + (gpt ? 2 : 3) * C * F;
  double at_projection = f32 * (2 * C / S + C + F), at_activation = f32 * (2 * C / S + (gpt ? 2 : 3) * F) - e * F;
  b.backward = std::max({at_projection, at_activation, gpt ? f32 * (3 * C / S + C) : 0.0});
  b.backward_weight = e == 2 ? f32 * C * F : 0;
  return b;
}

// Bytes by category above the rank's model states and batch; under ZeRO-2 and 3 the gradient
// buckets and gathered parameters open at that moment (zero_buckets).
struct held {
  double activations = 0, logits = 0, weight_copies = 0, temporaries = 0, gradients = 0, parameters = 0;
  held& operator+=(const held& o) {
    activations += o.activations, logits += o.logits, weight_copies += o.weight_copies, temporaries += o.temporaries;
    gradients += o.gradients, parameters += o.parameters;
    return *this;
  }
  held& operator-=(const held& o) {
    activations -= o.activations, logits -= o.logits, weight_copies -= o.weight_copies, temporaries -= o.temporaries;
    gradients -= o.gradients, parameters -= o.parameters;
    return *this;
  }
  double total() const { return activations + logits + weight_copies + temporaries + gradients + parameters; }
};

// ZeRO-2 and 3 over dp > 1 (core/parallel/zero2.hpp, zero3.hpp; pipeline parallel refused): what a
// rank keeps of the stage's P parameters. Elements: the rank's shard, the outer parameters
// (embedding, GPT's positions, final norm, output layer), the last layer's, the one whose backward
// comes first, and the one before it, which ZeRO-3's prefetch gathers meanwhile.
struct zero_sizes {
  double shard = 0, outer = 0, last_layer = 0, layer_before_last = 0;
};

zero_sizes zero_sizes_of(const model_config& c, const plan_layout& l, const pipeline_stage& st, int tp_rank, int dp_rank,
                         double P) {
  zero_sizes z;
  z.shard = double(chunk_range(size_t(P), l.dp, dp_rank).size);
  bucket_elements b = bucket_elements_of(c, l.tp, tp_rank, stage_param_indices(c, st));
  z.outer = b.outer;
  z.last_layer = c.layers >= 1 ? b.layer[size_t(c.layers - 1)] : 0;
  z.layer_before_last = c.layers >= 2 ? b.layer[size_t(c.layers - 2)] : 0;
  return z;
}

// One local chunk of a stage: what a microbatch in flight holds, and its backward's two candidate
// peaks on top of that.
struct chunk_bytes {
  held kept;
  held at_loss;   // last chunk: the logits' gradient
  held at_head;   // last chunk: the output layer's backward
  held at_block;  // its last block's backward (rebuilt first under full recompute)
};

chunk_bytes chunk_of(const model_config& c, const plan_layout& l, const rank_widths& w, layer_span span) {
  bool bf16 = c.precision == "bf16", full = l.recompute == "full";
  double e = bf16 ? 2 : f32;
  double N = double(l.microbatch) * c.seq_len, C = w.C, layers = span.last - span.first;
  layer_bytes lb = per_layer(c, w, e);
  double S = w.S;
  double layer_kept = full ? f32 * C / S : lb.full - (l.recompute == "selective" ? lb.probs : 0);
  chunk_bytes k;
  // The final norm keeps its input (the last block's output, fp32), the output layer its input (the
  // norm's output gathered whole, e), plus the norm's statistics; another chunk keeps its output
  // for its backward. GPT's embedding chunk keeps the position ids: (T), or the block's (N/S).
  double final_norm = N * (f32 * C / S + e * C / S + f32 * (c.family == "gpt" ? 2 : 1) / S);
  double position_ids = S > 1 ? N / S * 4 : c.seq_len * 4.0;
  k.kept.activations = layers * N * layer_kept + (span.head ? final_norm : f32 * N * C / S) +
                       (span.embed && c.family == "gpt" ? position_ids : 0);
  if (span.head) k.kept.logits = f32 * N * (w.V + 1);  // this rank's vocabulary slice and the log-sum-exp
  if (bf16) k.kept.weight_copies = 2 * ((full ? 0 : layers * lb.weights) + (span.head ? w.V * C : 0));
  if (span.head) k.at_loss.logits = f32 * N * w.V;
  // The output layer's backward: cross-entropy has freed the logits (their gradient stays), and the
  // GEMM allocates the gradient of its input (N, C; gathered whole under sequence parallel). In bf16
  // it also allocates the fp32 gradient of its weight's bf16 copy (V, C), added to the master's
  // after, and widens both bf16 operands to fp32 for the GEMMs (backends/cpu/matmul.cpp,
  // f32_operand): (N, C) and (V, C) more. With a small microbatch that is the step's peak.
  if (span.head) {
    k.at_head.logits = f32 * N * w.V - k.kept.logits;
    k.at_head.temporaries = f32 * N * C + (bf16 ? f32 * (N * C + 2 * w.V * C) : 0);
  }
  // The last block's backward: the head's buffers are gone by then; under full recompute the block
  // is rebuilt (its activations and bf16 weight copies) before its MLP's backward.
  if (span.head) {
    k.at_block.activations = -final_norm;
    k.at_block.logits = -k.kept.logits;
    k.at_block.weight_copies = bf16 ? -2 * w.V * C : 0;
  }
  k.at_block.temporaries = N * lb.backward + lb.backward_weight + (full ? N * lb.full : 0);
  if (full && bf16) k.at_block.weight_copies += 2 * lb.weights;
  return k;
}

// The stage's forwards and backwards: the schedule's order, or without pipeline parallel each
// microbatch's forward then its backward.
std::vector<pipeline_event> stage_events(const pipeline_stage& st, int microbatches) {
  if (st.stages > 1) return pipeline_replay(st, microbatches);
  std::vector<pipeline_event> events;
  for (int mb = 0; mb < microbatches; ++mb) {
    events.push_back({true, 0, mb});
    events.push_back({false, 0, mb});
  }
  return events;
}

}  // namespace

plan_memory local_rank_memory(const model_config& c, const plan_layout& l, int rank, double device_bytes) {
  rank_layout layout{l.tp, l.dp, l.pp};
  if (rank < 0 || rank >= layout.world())
    throw std::invalid_argument("local_rank_memory: rank " + std::to_string(rank) + " outside a world of " + std::to_string(layout.world()));
  rank_coords me = layout.coords(rank);
  pipeline_stage st{me.pp, l.pp, l.virtual_stages};
  rank_widths w = widths_of(c, l.tp, me.tp, l.sequence_parallel);

  // Model states: the stage's parameters (pipeline_stage.hpp; a tied output layer's copy on the last
  // stage), this rank's tensor-parallel shard of each, in fp32, a gradient for each, and AdamW's two
  // moments for all of them or, under ZeRO-1 over dp > 1, for this rank's chunk of them
  // (core/parallel/zero1.hpp: chunk_range over the data-parallel group).
  double P = 0;
  std::vector<param_spec> whole = param_layout(c);
  for (size_t i : stage_param_indices(c, st))
    P += double(shape_numel(shard_shape(whole[i], tensor_parallel_shard(c, whole[i], l.tp, me.tp))));
  bool zero1 = l.zero >= 1 && l.dp > 1;
  double moments = zero1 ? double(chunk_range(size_t(P), l.dp, me.dp).size) : P;
  double batch_ids = 2.0 * l.global_batch / l.dp * c.seq_len * 4;  // this replica's i32 tokens and targets

  std::vector<chunk_bytes> chunks;
  for (int local = 0; local < st.virtual_stages; ++local) chunks.push_back(chunk_of(c, l, w, stage_chunk_span(st, c.layers, local)));

  // ZeRO-2 and 3: the gradients' outer buckets are open through each backward and the last layer's
  // bucket during its block's backward (where at_block is); ZeRO-3 gathers that layer's parameters
  // for it too, and with its prefetch (the trainer's comm thread: overlap_grad_reduce where it
  // applies) the layer before it as well. Between the layers' forwards no layer is gathered.
  const bool zero2 = l.zero >= 2 && l.dp > 1, zero3 = l.zero >= 3 && l.dp > 1;
  const zero_sizes zs = zero2 ? zero_sizes_of(c, l, st, me.tp, me.dp, P) : zero_sizes{};
  held buckets_at_loss, buckets_at_block;
  if (zero2) {
    buckets_at_loss.gradients = f32 * zs.outer;
    buckets_at_block.gradients = f32 * (zs.outer + zs.last_layer);
  }
  if (zero3) buckets_at_block.parameters = f32 * (zs.last_layer + (zero3_prefetches(l) ? zs.layer_before_last : 0));

  held live, peak;
  auto consider = [&](const held& moment) {
    if (moment.total() > peak.total()) peak = moment;
  };
  for (const pipeline_event& ev : stage_events(st, l.microbatches)) {
    const chunk_bytes& k = chunks[size_t(ev.chunk)];
    if (ev.forward) {
      live += k.kept;
      consider(live);
      continue;
    }
    held at_loss = live, at_head = live, at_block = live;
    at_loss += k.at_loss;
    at_loss += buckets_at_loss;
    at_head += k.at_head;
    at_head += buckets_at_loss;
    at_block += k.at_block;
    at_block += buckets_at_block;
    consider(at_loss);
    consider(at_head);
    consider(at_block);
    live -= k.kept;
  }
  // After the schedule, a tied embedding's first and last stage add up its two gradients through a
  // buffer the size of their shard (core/train/pipeline_step.cpp).
  if (c.tied_embeddings && st.stages > 1 && (st.holds_embedding() || st.holds_head())) {
    held tied;
    tied.temporaries = f32 * w.V * w.C;
    consider(tied);
  }

  plan_memory m;
  m.parameters = f32 * (zero3 ? zs.shard + zs.outer : P) + peak.weight_copies + peak.parameters;
  m.gradients = f32 * (zero2 ? zs.shard : P) + peak.gradients;
  m.optimizer_state = 2 * f32 * moments;
  m.activations = batch_ids + peak.activations;
  m.logits = peak.logits;
  m.temporaries = peak.temporaries;
  m.total_bytes = m.parameters + m.gradients + m.optimizer_state + m.activations + m.logits + m.temporaries;
  m.device_bytes = device_bytes;
  m.fits = m.total_bytes <= device_bytes;
  m.stage = me.pp;
  m.rank = rank;
  return m;
}

std::vector<plan_memory> local_memory_by_rank(const model_config& c, const plan_layout& l, double device_bytes) {
  std::vector<plan_memory> out;
  for (int r = 0, n = l.tp * l.dp * l.pp; r < n; ++r) out.push_back(local_rank_memory(c, l, r, device_bytes));
  return out;
}

plan_memory local_step_memory(const model_config& c, const plan_layout& l, double device_bytes) {
  std::vector<plan_memory> ranks = local_memory_by_rank(c, l, device_bytes);
  return *std::max_element(ranks.begin(), ranks.end(),
                           [](const plan_memory& a, const plan_memory& b) { return a.total_bytes < b.total_bytes; });
}

}  // namespace wb
