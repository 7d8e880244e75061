// The parameters a model_config implies, without allocating anything: names, shapes, whether
// AdamW decays them, and how they are initialised. param_count is the closed-form count; the
// layout and the allocated model must agree with it (tests/core/model/param_layout_test.cpp).
#pragma once
#include <string>
#include <vector>

#include "core/model/pipeline_stage.hpp"
#include "core/recipe/recipe.hpp"
#include "core/tensor/tensor.hpp"

namespace wb {

enum class param_init : uint8_t { normal, ones, zeros };

struct param_spec {
  std::string name;  // "layers.3.attn.wq"
  shape_t shape;
  bool decay;        // matrices and embeddings yes; norm weights and biases no
  param_init init;
  float init_std;    // for param_init::normal
};

// Llama: tok_emb (V, C); per layer attn_norm (C), wq (NH*HD, C), wk, wv (KVH*HD, C), wo (C, NH*HD),
//   mlp_norm (C), w1, w3 (F, C), w2 (C, F); norm (C); lm_head (V, C) unless tied.
// GPT: wte (V, C), wpe (S, C); per layer ln1 w, b (C); wq, wk, wv + biases; wo (C, C) + bias;
//   ln2 w, b; fc (F, C) + bias; proj (C, F) + bias; ln_f w, b; lm_head unless tied.
// Weights are (out, in) as in Hugging Face and llm.c: y = x W^T.
std::vector<param_spec> param_layout(const model_config& cfg);

// The transformer layer a parameter belongs to, from its name ("layers.12.attn.wq" -> 12); -1 for
// the parameters outside the layers (embeddings, final norm, head).
int param_layer(const std::string& name);

// Tensor parallel (Megatron-LM, Shoeybi et al. 2019): which slice of a parameter tensor-parallel
// rank `rank` of `tp` holds. Column-parallel wq, wk, wv, w1, w3 (GPT: fc, and the biases of all
// four) split their rows (output features: whole heads, whole ffn units), row-parallel wo, w2 (GPT:
// proj) their columns (input features), tok_emb / wte and lm_head their rows (vocabulary parallel);
// norms, row-parallel biases and GPT's position embedding are replicated (dim -1). Every split is
// chunk_range of the global extent, so the shards of all ranks tile the parameter. Heads need
// tp | heads and tp | kv_heads (GQA), and ffn and vocabulary need tp <= them.
struct param_shard {
  int dim = -1;        // -1: replicated, 0: rows, 1: columns
  int64_t offset = 0;  // first global row / column held
  int64_t size = 0;    // rows / columns held
};
param_shard tensor_parallel_shard(const model_config& cfg, const param_spec& p, int tp, int rank);
shape_t shard_shape(const param_spec& p, const param_shard& s);
// Empty when tp works for cfg, else what is wrong and what to do.
std::string tensor_parallel_error(const model_config& cfg, int tp);

// Pipeline parallel: the indices into param_layout(cfg) of the parameters `stage` holds, in layout
// order: the layers of its chunks, the embedding on stage 0 (and GPT's positions), the final norm and
// output layer on the last stage. A tied output layer on a later stage than the embedding is held
// there too, as its own copy (is_tied_copy).
std::vector<size_t> stage_param_indices(const model_config& cfg, const pipeline_stage& stage);
// Whether `name` is the last stage's own copy of the embedding a tied output layer reads.
bool is_tied_copy(const model_config& cfg, const pipeline_stage& stage, const std::string& name);

// Closed form of the same count (no allocation), e.g. 8,030,261,248 for Llama 3 8B.
long long param_count(const model_config& cfg);

}  // namespace wb
