// Cross-field rules of a resolved recipe: does the layout fit the model and the cluster, does the
// batch split, does the run have a length. Each failure names the field whose value is at fault.
#pragma once
#include "core/catalog/instance.hpp"
#include "core/recipe/diagnostic.hpp"
#include "core/recipe/value.hpp"

namespace wb {

// `dp_auto`: the recipe asked for dp = "auto" (its resolved value is then 0 when the devices do
// not split into tp*pp groups).
void check_layout(const recipe_value& resolved, bool dp_auto, const instance_catalog& catalog,
                  diagnostics& out);

}  // namespace wb
