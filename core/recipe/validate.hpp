// Schema validation of a merged recipe tree: unknown keys (with did-you-mean), types, ranges,
// choices, instance types and required fields; then defaults and derived values. Cross-field rules
// (layouts, batch divisibility) live in layout_check.hpp.
#pragma once
#include "core/catalog/instance.hpp"
#include "core/recipe/diagnostic.hpp"
#include "core/recipe/value.hpp"

namespace wb {

// Appends one diagnostic per problem found; never stops at the first.
void validate_schema(const recipe_value& tree, const instance_catalog& catalog, diagnostics& out);

// Fills absent fields with their defaults and derived values (kv_heads = heads, init_seed =
// train.seed, train.steps from tokens, dp from "auto"). Call only on a tree without schema errors.
void apply_defaults(recipe_value& tree, const instance_catalog& catalog);

}  // namespace wb
