// model.init for a run: "random" (already done by the model's constructor), "hf:DIR" (a Hugging
// Face Llama directory: the base model of continued pre-training) or "ckpt:DIR" (a wb checkpoint's
// parameters). The source's shape must be the recipe's: a mismatch names the field or tensor.
#pragma once
#include <string>

#include "core/model/model.hpp"

namespace wb {

// Returns a description of what was loaded ("" for random).
std::string model_initialize(model& m, const std::string& init);

}  // namespace wb
