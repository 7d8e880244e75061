// Hydra-style dotted overrides from the command line: `parallel.microbatch=4 cluster.nodes=16`.
// Values are read by the type the schema gives the key, then checked like any recipe value.
// `+data.sources.web.path=...` adds an entry to a map; naming a missing key is an error.
#pragma once
#include <string>
#include <vector>

#include "core/recipe/diagnostic.hpp"
#include "core/recipe/schema.hpp"
#include "core/recipe/value.hpp"

namespace wb {

// Applies each override to `tree` in order; a malformed or unknown one becomes a diagnostic.
// `origin` labels where the overrides came from in locations and errors: "command line (x=1): ...".
void apply_overrides(recipe_value& tree, const std::vector<std::string>& overrides, diagnostics& out,
                     const std::string& origin = "command line");

// The value an override's text stands for, read by the type the schema gives the field ("4" is a
// number for an integer field; anything unreadable stays a string so validation names it).
recipe_value override_read_value(const field_spec& spec, const std::string& text, const source_loc& loc);

// Whether a command-line word is an override rather than a file or flag ("a.b=c").
bool looks_like_override(const std::string& word);

}  // namespace wb
