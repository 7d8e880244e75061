// The GPT-2 forward pass (Radford et al. 2019; llm.c train_gpt2.c): token plus learned position
// embeddings, pre-norm blocks of LayerNorm -> causal attention (kv_heads = heads unless set) ->
// residual, LayerNorm -> GELU MLP -> residual; a final LayerNorm. Linear layers carry biases.
// GEMM inputs and attention probabilities go through mixed_precision.hpp (bf16 copies in bf16 runs).
#include <fmt/format.h>

#include "core/model/mixed_precision.hpp"
#include "core/model/tensor_parallel_ops.hpp"

namespace wb {
namespace {

// x (B, T, C), already through gemm_input -> x W^T + b
var affine(tape& tp, const model& m, const var& x, const var& w, const var& b) { return add(tp, linear(tp, m, x, w), b); }

var gpt_block(tape& tp, const model& m, int l, const var& x, bool recompute_probs) {
  const model_config& c = m.config();
  auto p = [&](const char* n) { return m.param(fmt::format("layers.{}.{}", l, n)); };
  // Under tensor parallel (Megatron-LM), as llama.cpp: this rank's heads and ffn units, f before each
  // column-parallel layer, g after each row-parallel one, whose bias is then added once.
  // Under sequence parallel x is this rank's block of tokens (tensor_parallel_ops.hpp).
  int tps = m.tp_size();
  int64_t B = x->data.dim(0), T = x->data.dim(1) * (m.sequence_parallel() ? tps : 1), HD = c.head_dim(), KVH = (c.kv_heads > 0 ? c.kv_heads : c.heads) / tps;
  int64_t NH = c.heads / tps;
  float eps = float(c.norm_eps);
  var h = column_parallel_input(tp, m, layernorm(tp, x, p("ln1.w"), p("ln1.b"), eps));  // (B, T, C)
  var q = reshape(tp, affine(tp, m, h, p("attn.wq"), p("attn.bq")), {B, T, NH, HD});             // (B, T, NH, HD)
  var k = reshape(tp, affine(tp, m, h, p("attn.wk"), p("attn.bk")), {B, T, KVH, HD});            // (B, T, KVH, HD)
  var v = reshape(tp, affine(tp, m, h, p("attn.wv"), p("attn.bv")), {B, T, KVH, HD});
  var a = reshape(tp, attention(tp, q, k, v, recompute_probs, m.bf16()), {B, T, NH * HD});
  // (B, T, C); a row-parallel bias is added after the all-reduce
  var x1 = add(tp, x, add(tp, row_parallel_output(tp, m, linear(tp, m, gemm_input(tp, m, a), p("attn.wo"))),
                          p("attn.bo")));
  h = column_parallel_input(tp, m, layernorm(tp, x1, p("ln2.w"), p("ln2.b"), eps));
  var fc = gelu(tp, affine(tp, m, h, p("mlp.fc"), p("mlp.bfc")));                                 // (B, T, F)
  return add(tp, x1, add(tp, row_parallel_output(tp, m, linear(tp, m, gemm_input(tp, m, fc), p("mlp.proj"))),
                         p("mlp.bproj")));
}

}  // namespace

var gpt_span(tape& tp, const model& m, const var& input, layer_span span, recompute_mode rc) {
  var x = input;
  if (span.embed) {
    int64_t B = input->data.dim(0), T = input->data.dim(1);
    const parameter& wte = m.params()[m.param_index("wte")];
    bool sp = m.sequence_parallel();
    var tokens = m.tensor_parallel() ? vocab_parallel_embedding(tp, *m.tensor_parallel(), wte.v, input, wte.shard.offset, sp)
                                     : embedding(tp, wte.v, input);
    if (sp) {  // this rank's block: tokens [r N/tp, (r+1) N/tp) of the flattened (B T), position i % T each
      collective& group = *m.tensor_parallel();
      chunk c = chunk_range(size_t(B * T), group.world(), group.rank());
      tensor pos({B, T / group.world()}, mem_category::activations, dtype::i32);
      for (size_t i = 0; i < c.size; ++i) pos.i32()[i] = int32_t((c.begin + i) % size_t(T));
      x = add(tp, tokens, embedding(tp, m.param("wpe"), make_var(pos)));  // (B, T/tp, C) + (B, T/tp, C)
    } else {
      tensor pos({T}, mem_category::activations, dtype::i32);  // positions 0..T-1
      for (int64_t t = 0; t < T; ++t) pos.i32()[t] = int32_t(t);
      x = add(tp, tokens, embedding(tp, m.param("wpe"), make_var(pos)));  // (B, T, C) + (T, C)
    }
  }
  for (int l = span.first; l < span.last; ++l) {
    block_fn block = [&m, l, rc](tape& t, const var& in) { return gpt_block(t, m, l, in, rc == recompute_mode::selective); };
    tp.mark_layer(l, true);  // backward's per-layer hooks (ZeRO-2), nothing otherwise
    x = rc == recompute_mode::full ? checkpoint(tp, block, x) : block(tp, x);
    tp.mark_layer(l, false);
  }
  return span.head ? layernorm(tp, x, m.param("ln_f.w"), m.param("ln_f.b"), float(m.config().norm_eps)) : x;
}

var gpt_hidden(tape& tp, const model& m, const var& tokens, recompute_mode rc) {
  return gpt_span(tp, m, tokens, {0, m.config().layers, true, true}, rc);
}

}  // namespace wb
