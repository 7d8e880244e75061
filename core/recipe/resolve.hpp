// From a recipe file to a validated, typed recipe: evaluate the file and its `extends` chain,
// merge base first, apply overrides, validate against the schema, fill defaults, check the layout,
// hash. Evaluation itself is a callback (the Lua sandbox lives in the lua layer; core has no Lua).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/catalog/instance.hpp"
#include "core/recipe/diagnostic.hpp"
#include "core/recipe/recipe.hpp"
#include "core/recipe/value.hpp"

namespace wb {

// Evaluates one recipe file to its tree (locations filled); throws recipe_failure on errors.
using recipe_file_loader = std::function<recipe_value(const std::string& path)>;

struct resolve_options {
  std::vector<std::string> overrides;    // "parallel.tp=8"
  std::vector<std::string> search_dirs;  // where `extends` names are found, after the file's folder
  std::string override_origin = "command line";  // how errors name the overrides ("repl" in wb repl)
};

struct resolved_recipe {
  recipe_value tree;                     // merged, overridden, defaulted (even when invalid)
  std::vector<std::string> files;        // the extends chain, base first
  diagnostics errors;
  std::optional<recipe> config;          // set when there are no errors
  std::string hash;

  bool ok() const { return errors.empty(); }
};

resolved_recipe recipe_resolve(const std::string& path, const recipe_file_loader& load,
                               const instance_catalog& catalog, const resolve_options& options);

// Finds `extends = name` from the file `from`: a path (with '/' or ending in .lua) relative to
// `from`'s folder, else NAME.lua in `from`'s folder then in each search dir.
std::optional<std::string> recipe_find(const std::string& name, const std::string& from,
                                       const std::vector<std::string>& search_dirs);

// A path as short as it can be shown: relative to the working directory when inside it.
std::string display_path(const std::string& path);

}  // namespace wb
