// The parameters a model_config implies, without allocating anything: names, shapes, whether
// AdamW decays them, and how they are initialised. param_count is the closed-form count; the
// layout and the allocated model must agree with it (tests/core/model/param_layout_test.cpp).
#pragma once
#include <string>
#include <vector>

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

// Closed form of the same count (no allocation), e.g. 8,030,261,248 for Llama 3 8B.
long long param_count(const model_config& cfg);

}  // namespace wb
