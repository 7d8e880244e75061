// `wb run RECIPE --rehearse`: the same recipe — family, attention shape, data mix, tokenizer,
// optimizer, schedule, checkpoint settings — with the model scaled down to fit this machine and a
// few steps, so that everything but scale is exercised before a cluster is paid for.
#pragma once
#include <string>
#include <vector>

#include "core/recipe/recipe.hpp"

namespace wb {

struct rehearsal_plan {
  recipe scaled;
  std::vector<std::string> notes;  // what was changed and why, for the report
};

// `default_data` names the default mix's folder (data/default): used, and said, when the recipe's
// tokenizer or shard sets are absent here.
rehearsal_plan rehearsal_scale(const recipe& r, long long steps, const std::string& default_data);

// Bytes a recipe's model needs for weights, gradients and AdamW moments (fp32 master copies) plus
// a lower bound on one microbatch's activations: what `wb run` checks before allocating anything.
double model_state_bytes(const recipe& r);

}  // namespace wb
