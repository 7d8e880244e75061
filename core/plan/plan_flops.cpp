// GEMM-by-GEMM FLOPs. Shapes (per layer, T tokens, C dim, NH heads, KVH kv heads, HD head dim,
// F ffn): Q (T, NH*HD, C), K and V (T, KVH*HD, C), O (T, C, NH*HD); Llama MLP w1, w3 (T, F, C) and
// w2 (T, C, F); GPT MLP fc (T, F, C) and proj (T, C, F). Scores per sequence and head (S, S, HD)
// and probabilities x V (S, HD, S). Tensor parallelism splits heads and F (Megatron-LM column/row
// parallel layers, Shoeybi et al. 2019).
#include "core/plan/plan_flops.hpp"

namespace wb {
namespace {

long long kv_heads_of(const model_config& c) { return c.kv_heads > 0 ? c.kv_heads : c.heads; }

}  // namespace

std::vector<gemm_shape> layer_dense_gemms(const model_config& c, long long tokens, int tp) {
  long long C = c.dim, HD = c.head_dim(), Q = c.heads * HD / tp, KV = kv_heads_of(c) * HD / tp, F = c.ffn / tp;
  std::vector<gemm_shape> g = {
      {tokens, Q, C, 1},       // q
      {tokens, KV, C, 2},      // k, v
      {tokens, C, Q, 1},       // o
  };
  if (c.family == "gpt") {
    g.push_back({tokens, F, C, 1});      // fc
    g.push_back({tokens, C, F, 1});      // proj
  } else {
    g.push_back({tokens, F, C, 2});      // w1, w3 (SwiGLU gate and up)
    g.push_back({tokens, C, F, 1});      // w2
  }
  return g;
}

double attention_core_flops(const model_config& c, long long b, int tp, bool causal) {
  double S = c.seq_len, HD = c.head_dim(), NH = double(c.heads) / tp;
  double full = 2.0 * (2.0 * S * S * HD) * NH * double(b);  // scores and probabilities x V
  // Causal blocked kernels compute the diagonal blocks in full and skip the upper triangle: about
  // half, S(S+1)/2 of S^2 entries.
  return causal ? full * (S + 1) / (2 * S) : full;
}

double lm_head_flops(const model_config& c, long long tokens, int tp) {
  return 2.0 * double(tokens) * double(c.dim) * double(c.vocab) / tp;
}

double model_flops_per_token(const model_config& c) {
  double layer = 0;
  for (auto& g : layer_dense_gemms(c, 1, 1)) layer += g.flops();
  double attn = attention_core_flops(c, 1, 1, false) / c.seq_len;  // per token
  return 3.0 * (c.layers * (layer + attn) + lm_head_flops(c, 1, 1));
}

double hardware_flops_per_token(const model_config& c, const std::string& recompute, bool causal) {
  double dense = 0;
  for (auto& g : layer_dense_gemms(c, 1, 1)) dense += g.flops();
  double attn = attention_core_flops(c, 1, 1, causal) / c.seq_len;
  double per_layer = 3.0 * (dense + attn);
  // Recompute reruns forward work in backward: full reruns the whole layer (Narayanan et al. 2021
  // eq. 3's factor 4 instead of 3), selective reruns only the attention core (Korthikanti et al.
  // 2022 §4.2).
  if (recompute == "full") per_layer += dense + attn;
  else if (recompute == "selective") per_layer += attn;
  return c.layers * per_layer + 3.0 * lm_head_flops(c, 1, 1);
}

}  // namespace wb
