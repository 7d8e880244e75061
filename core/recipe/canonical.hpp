// The canonical text of a resolved recipe and its hash. Canonical JSON: keys sorted, integers
// without a fraction, other numbers in shortest round-trip form, so equal recipes hash equal on
// every machine and any changed value changes the hash.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "core/recipe/value.hpp"

namespace wb {

std::string canonical_json(const recipe_value& tree);
std::string recipe_hash(const recipe_value& tree);  // sha256 hex of canonical_json

// The tree as JSON with keys in schema order (for `wb show --json`).
nlohmann::ordered_json recipe_to_json(const recipe_value& tree);

// The tree as dotted `key = value` lines in schema order, each followed by where it was written.
std::string recipe_to_text(const recipe_value& tree);

}  // namespace wb
