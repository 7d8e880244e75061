// The Llama forward pass (Touvron et al. 2023; Hugging Face LlamaModel): pre-norm blocks of
// RMSNorm -> GQA causal attention with RoPE on q and k -> residual, RMSNorm -> SwiGLU MLP
// (w2(silu(x w1) * (x w3))) -> residual; a final RMSNorm. No biases. GEMM inputs and attention
// probabilities go through mixed_precision.hpp (bf16 copies in bf16 runs).
#include <fmt/format.h>

#include "core/model/mixed_precision.hpp"
#include "core/model/tensor_parallel_ops.hpp"

namespace wb {
namespace {

// x (B, T, C) -> x + attention + mlp, layer l
var llama_block(tape& tp, const model& m, int l, const var& x, bool recompute_probs) {
  const model_config& c = m.config();
  auto p = [&](const char* n) { return m.param(fmt::format("layers.{}.{}", l, n)); };
  // Under tensor parallel (Megatron-LM): this rank's NH/tp query and KVH/tp key/value heads and
  // F/tp ffn units; f (copy_to) before each column-parallel pair, g (reduce_from) after each
  // row-parallel wo / w2 (column_parallel_input, row_parallel_output). Without it both are the
  // identity and the heads are all of them. Under sequence parallel x is this rank's block of
  // tokens; f and g become the gather and the reduce-scatter of the blocks (tensor_parallel_ops.hpp).
  int tps = m.tp_size();
  int64_t B = x->data.dim(0), T = x->data.dim(1) * (m.sequence_parallel() ? tps : 1), HD = c.head_dim(), KVH = (c.kv_heads > 0 ? c.kv_heads : c.heads) / tps;
  int64_t NH = c.heads / tps;
  float eps = float(c.norm_eps);
  var h = column_parallel_input(tp, m, rmsnorm(tp, x, p("attn_norm"), eps));  // (B, T, C)
  var q = rope(tp, reshape(tp, linear(tp, m, h, p("attn.wq")), {B, T, NH, HD}), c.rope_theta);      // (B, T, NH, HD)
  var k = rope(tp, reshape(tp, linear(tp, m, h, p("attn.wk")), {B, T, KVH, HD}), c.rope_theta);     // (B, T, KVH, HD)
  var v = reshape(tp, linear(tp, m, h, p("attn.wv")), {B, T, KVH, HD});                              // (B, T, KVH, HD)
  var a = reshape(tp, attention(tp, q, k, v, recompute_probs, m.bf16()), {B, T, NH * HD});       // (B, T, NH*HD)
  var x1 = add(tp, x, row_parallel_output(tp, m, linear(tp, m, gemm_input(tp, m, a), p("attn.wo"))));  // (B, T, C)
  h = column_parallel_input(tp, m, rmsnorm(tp, x1, p("mlp_norm"), eps));
  var g = swiglu(tp, linear(tp, m, h, p("mlp.w1")), linear(tp, m, h, p("mlp.w3")));            // (B, T, F)
  return add(tp, x1, row_parallel_output(tp, m, linear(tp, m, gemm_input(tp, m, g), p("mlp.w2"))));
}

}  // namespace

var llama_span(tape& tp, const model& m, const var& input, layer_span span, recompute_mode rc) {
  var x = input;
  if (span.embed) {
    const parameter& emb = m.params()[m.param_index("tok_emb")];
    x = m.tensor_parallel() ? vocab_parallel_embedding(tp, *m.tensor_parallel(), emb.v, input, emb.shard.offset, m.sequence_parallel())
                            : embedding(tp, emb.v, input);  // (B, T, C), or this rank's block (B, T/tp, C)
  }
  for (int l = span.first; l < span.last; ++l) {
    block_fn block = [&m, l, rc](tape& t, const var& in) { return llama_block(t, m, l, in, rc == recompute_mode::selective); };
    tp.mark_layer(l, true);  // backward's per-layer hooks (ZeRO-2), nothing otherwise
    x = rc == recompute_mode::full ? checkpoint(tp, block, x) : block(tp, x);
    tp.mark_layer(l, false);
  }
  return span.head ? rmsnorm(tp, x, m.param("norm"), float(m.config().norm_eps)) : x;
}

var llama_hidden(tape& tp, const model& m, const var& tokens, recompute_mode rc) {
  return llama_span(tp, m, tokens, {0, m.config().layers, true, true}, rc);
}

}  // namespace wb
