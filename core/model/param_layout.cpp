// Parameter layout and closed-form count for the llama and gpt families.
//
// Initialisation: normal(0, 0.02) for matrices and embeddings, with the projections that write
// into the residual stream (attention wo, MLP w2 / proj) scaled by 1/sqrt(2 L): GPT-2 (Radford et
// al. 2019, section 2.3: "scale the weights of residual layers at initialization by a factor of
// 1/sqrt(N) where N is the number of residual layers"), as nanoGPT's model.py implements it
// (std 0.02 / sqrt(2 * n_layer)). Norm weights 1, biases 0.
#include "core/model/param_layout.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "core/parallel/collective.hpp"

namespace wb {
namespace {

constexpr float init_std = 0.02f;  // GPT-2 / nanoGPT

int kv_heads_of(const model_config& c) { return c.kv_heads > 0 ? c.kv_heads : c.heads; }

void check(const model_config& c) {
  if (c.family != "llama" && c.family != "gpt")
    throw std::invalid_argument(fmt::format("Invalid 'model.family' '{}': expected llama or gpt", c.family));
  if (c.heads <= 0 || c.dim % c.heads)
    throw std::invalid_argument(fmt::format("Invalid 'model.heads' {}: expected a divisor of dim ({})", c.heads, c.dim));
  if (c.heads % kv_heads_of(c))
    throw std::invalid_argument(fmt::format("Invalid 'model.kv_heads' {}: expected a divisor of heads ({})", c.kv_heads, c.heads));
}

}  // namespace

std::vector<param_spec> param_layout(const model_config& c) {
  check(c);
  int64_t C = c.dim, V = c.vocab, F = c.ffn, HD = c.head_dim(), Q = c.heads * HD, KV = kv_heads_of(c) * HD;
  float out_std = init_std / std::sqrt(2.0f * float(c.layers));
  std::vector<param_spec> p;
  auto matrix = [&](std::string n, shape_t s, float sd = init_std) { p.push_back({std::move(n), std::move(s), true, param_init::normal, sd}); };
  auto vec = [&](std::string n, int64_t len, param_init init) { p.push_back({std::move(n), {len}, false, init, 0}); };
  bool gpt = c.family == "gpt";
  matrix(gpt ? "wte" : "tok_emb", {V, C});
  if (gpt) matrix("wpe", {c.seq_len, C});
  for (int l = 0; l < c.layers; ++l) {
    std::string L = fmt::format("layers.{}.", l);
    if (gpt) {
      vec(L + "ln1.w", C, param_init::ones);
      vec(L + "ln1.b", C, param_init::zeros);
      matrix(L + "attn.wq", {Q, C});
      vec(L + "attn.bq", Q, param_init::zeros);
      matrix(L + "attn.wk", {KV, C});
      vec(L + "attn.bk", KV, param_init::zeros);
      matrix(L + "attn.wv", {KV, C});
      vec(L + "attn.bv", KV, param_init::zeros);
      matrix(L + "attn.wo", {C, Q}, out_std);
      vec(L + "attn.bo", C, param_init::zeros);
      vec(L + "ln2.w", C, param_init::ones);
      vec(L + "ln2.b", C, param_init::zeros);
      matrix(L + "mlp.fc", {F, C});
      vec(L + "mlp.bfc", F, param_init::zeros);
      matrix(L + "mlp.proj", {C, F}, out_std);
      vec(L + "mlp.bproj", C, param_init::zeros);
    } else {
      vec(L + "attn_norm", C, param_init::ones);
      matrix(L + "attn.wq", {Q, C});
      matrix(L + "attn.wk", {KV, C});
      matrix(L + "attn.wv", {KV, C});
      matrix(L + "attn.wo", {C, Q}, out_std);
      vec(L + "mlp_norm", C, param_init::ones);
      matrix(L + "mlp.w1", {F, C});
      matrix(L + "mlp.w3", {F, C});
      matrix(L + "mlp.w2", {C, F}, out_std);
    }
  }
  if (gpt) {
    vec("ln_f.w", C, param_init::ones);
    vec("ln_f.b", C, param_init::zeros);
  } else {
    vec("norm", C, param_init::ones);
  }
  if (!c.tied_embeddings) matrix("lm_head", {V, C});
  return p;
}

std::string tensor_parallel_error(const model_config& c, int tp) {
  if (tp == 1) return "";
  if (tp < 1 || c.heads % tp || kv_heads_of(c) % tp)
    return fmt::format("parallel.tp = {} must divide model.heads ({}) and model.kv_heads ({}): each rank computes whole heads",
                       tp, c.heads, kv_heads_of(c));
  if (tp > c.ffn || tp > c.vocab)
    return fmt::format("parallel.tp = {} exceeds model.ffn ({}) or model.vocab ({})", tp, c.ffn, c.vocab);
  return "";
}

param_shard tensor_parallel_shard(const model_config& c, const param_spec& p, int tp, int rank) {
  param_shard replicated{-1, 0, p.shape.empty() ? 0 : p.shape[0]};
  if (tp == 1) return replicated;
  auto ends_with = [&](const char* s) {
    std::string suf(s);
    return p.name.size() >= suf.size() && p.name.compare(p.name.size() - suf.size(), suf.size(), suf) == 0;
  };
  int64_t HD = c.head_dim();
  auto heads = [&](int64_t n_heads, int dim) {  // whole heads of HD rows / columns each
    chunk h = chunk_range(size_t(n_heads), tp, rank);
    return param_shard{dim, int64_t(h.begin) * HD, int64_t(h.size) * HD};
  };
  auto plain = [&](int64_t extent, int dim) {
    chunk k = chunk_range(size_t(extent), tp, rank);
    return param_shard{dim, int64_t(k.begin), int64_t(k.size)};
  };
  // Llama and GPT: column-parallel weights and their biases (GPT) split their output features,
  // row-parallel weights their input features; a row-parallel layer's bias is added once, after
  // the all-reduce, so it is replicated like the norms and GPT's position embedding.
  if (ends_with("attn.wq") || ends_with("attn.bq")) return heads(c.heads, 0);
  if (ends_with("attn.wk") || ends_with("attn.wv") || ends_with("attn.bk") || ends_with("attn.bv")) return heads(kv_heads_of(c), 0);
  if (ends_with("attn.wo")) return heads(c.heads, 1);
  if (ends_with("mlp.w1") || ends_with("mlp.w3") || ends_with("mlp.fc") || ends_with("mlp.bfc")) return plain(c.ffn, 0);
  if (ends_with("mlp.w2") || ends_with("mlp.proj")) return plain(c.ffn, 1);
  if (p.name == "tok_emb" || p.name == "wte" || p.name == "lm_head") return plain(c.vocab, 0);
  if (p.shape.size() != 2 || p.name == "wpe") return replicated;
  throw std::logic_error(fmt::format("tensor_parallel_shard: no split known for parameter '{}'", p.name));
}

shape_t shard_shape(const param_spec& p, const param_shard& s) {
  shape_t out = p.shape;
  if (s.dim >= 0) out[size_t(s.dim)] = s.size;
  return out;
}

bool is_tied_copy(const model_config& c, const pipeline_stage& st, const std::string& name) {
  return c.tied_embeddings && st.holds_head() && !st.holds_embedding() && name == (c.family == "gpt" ? "wte" : "tok_emb");
}

std::vector<size_t> stage_param_indices(const model_config& c, const pipeline_stage& st) {
  auto layout = param_layout(c);
  std::vector<bool> layer_held(size_t(c.layers), false);
  for (int j = 0; j < st.virtual_stages; ++j) {
    layer_span s = stage_chunk_span(st, c.layers, j);
    for (int l = s.first; l < s.last; ++l) layer_held[size_t(l)] = true;
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < layout.size(); ++i) {
    const std::string& n = layout[i].name;
    bool held;
    if (int l = param_layer(n); l >= 0) held = layer_held[size_t(l)];
    else if (n == "tok_emb" || n == "wte" || n == "wpe") held = st.holds_embedding() || is_tied_copy(c, st, n);
    else held = st.holds_head();  // norm, ln_f.w, ln_f.b, lm_head
    if (held) out.push_back(i);
  }
  return out;
}

long long param_count(const model_config& c) {
  check(c);
  long long C = c.dim, V = c.vocab, F = c.ffn, L = c.layers, Q = C / c.heads * c.heads, KV = C / c.heads * kv_heads_of(c);
  long long head = c.tied_embeddings ? 0 : V * C;
  if (c.family == "gpt") {
    long long attn = C * Q + Q + 2 * (C * KV + KV) + Q * C + C, mlp = C * F + F + F * C + C;
    return V * C + (long long)c.seq_len * C + L * (4 * C + attn + mlp) + 2 * C + head;
  }
  long long attn = C * Q + 2 * C * KV + Q * C, mlp = 3 * C * F;
  return V * C + L * (2 * C + attn + mlp) + C + head;
}

int param_layer(const std::string& name) {
  if (name.rfind("layers.", 0) != 0) return -1;
  return std::stoi(name.substr(7));
}

}  // namespace wb
