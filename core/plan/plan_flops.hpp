// FLOPs of a Llama or GPT model, counted GEMM by GEMM from the model_config (a multiply-add is 2
// FLOPs). Model FLOPs follow PaLM (Chowdhery et al. 2022, Appendix B): forward + backward = 3 x
// forward, attention scores counted in full (12 L H Q T per token, no causal halving, no
// recompute). Hardware FLOPs add what recomputation reruns. GQA and SwiGLU are counted by their
// real shapes, which the 6N + 12LHQT shorthand (written for MHA and a 4h MLP) only approximates.
#pragma once
#include <vector>

#include "core/recipe/recipe.hpp"

namespace wb {

// One GEMM C(m, n) = A(m, k) B(k, n) of a transformer layer's forward pass for a microbatch of
// `tokens` tokens, already divided by the tensor-parallel degree, repeated `count` times.
struct gemm_shape {
  long long m = 0, n = 0, k = 0;
  long long count = 1;
  double flops() const { return 2.0 * double(m) * double(n) * double(k) * double(count); }
};

// The projection and MLP GEMMs of one layer (not the attention core), for `tokens` = b x s.
std::vector<gemm_shape> layer_dense_gemms(const model_config& c, long long tokens, int tp);

// The attention core of one layer for `b` sequences: scores Q K^T and probabilities x V, per head.
// `causal`: count only the lower triangle, as blocked (flash) kernels skip masked blocks.
double attention_core_flops(const model_config& c, long long b, int tp, bool causal);

// Forward FLOPs of the output layer (lm_head) for `tokens`.
double lm_head_flops(const model_config& c, long long tokens, int tp);

// PaLM model FLOPs per token, forward + backward, whole model (no tp split).
double model_flops_per_token(const model_config& c);

// Hardware FLOPs per token with recompute ("none", "selective", "full") and causal attention
// kernels (`causal`): what the devices actually execute.
double hardware_flops_per_token(const model_config& c, const std::string& recompute, bool causal);

}  // namespace wb
