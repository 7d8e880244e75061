// Hugging Face Llama checkpoints (config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json) to and from wb. wb's RoPE pairs dimension i with i + head_dim/2,
// the "rotate half" convention of Hugging Face's LlamaRotaryEmbedding, so HF's q_proj and k_proj
// rows load as they are; the row permutation that convert_llama_weights_to_hf.py applies to Meta's
// interleaved checkpoints is already in HF's files. Supported: LlamaForCausalLM (model_type
// "llama") in F32, BF16 or F16; anything else is refused naming what was found.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/ckpt/safetensors.hpp"
#include "core/recipe/recipe.hpp"

namespace wb {

// Reads config.json; throws std::runtime_error naming the file and the unsupported value.
model_config hf_read_config(const std::string& hf_dir);

// HF tensor name of a wb Llama parameter ("layers.3.mlp.w1" -> "model.layers.3.mlp.gate_proj.weight").
std::string hf_name_of(const std::string& wb_name);

struct hf_weights {
  model_config config;
  std::map<std::string, std::vector<float>> tensors;  // wb name -> fp32 values
  std::string source_dtype;                           // "F32", "BF16" or "F16"
};

// Every tensor the config's model needs, converted to fp32 (exactly: bf16 and f16 widen without
// rounding). Throws naming a missing tensor, or the tensor and both shapes on a mismatch.
hf_weights hf_load(const std::string& hf_dir);

// Writes config.json and model.safetensors. dtype F32 or BF16 (round to nearest even).
void hf_save(const std::string& hf_dir, const model_config& config, const std::map<std::string, const float*>& tensors,
             st_dtype dtype);

}  // namespace wb
