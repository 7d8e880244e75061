// A recipe tree with its locations as JSON, the form in which a sandboxed child process hands the
// evaluated recipe back to wb: {"k":"table","f":"recipes/x.lua","l":12,"v":[["model",{...}],...]}.
#pragma once
#include <nlohmann/json.hpp>

#include "core/recipe/diagnostic.hpp"
#include "core/recipe/value.hpp"

namespace wb {

nlohmann::json value_to_located_json(const recipe_value& v);
recipe_value value_from_located_json(const nlohmann::json& j);

nlohmann::json diagnostics_to_json(const diagnostics& ds);
diagnostics diagnostics_from_json(const nlohmann::json& j);

}  // namespace wb

namespace wb {

// A plain JSON value (as `wb show --json` or a checkpoint manifest holds a resolved recipe) back
// into a recipe tree, without locations.
recipe_value value_from_plain_json(const nlohmann::json& j);

}  // namespace wb
