// Learning rate at a step: linear warm-up to optim.lr, then cosine, linear or constant decay to
// optim.lr_min over the remaining steps (steps are 0-based; `total` is train.steps).
#pragma once
#include "core/recipe/recipe.hpp"

namespace wb {

double lr_at(const optim_config& o, long long step, long long total);

}  // namespace wb
