// Evaluates one recipe file (or an embedded wb.* module) in the sandbox, inside a child process
// with a wall-clock deadline, and returns its located tree. Whatever the file does, wb survives:
// a hang or crash of the child becomes a diagnostic naming the file and the limit hit.
#pragma once
#include <string>

#include "core/catalog/instance.hpp"
#include "core/recipe/resolve.hpp"
#include "core/recipe/value.hpp"
#include "lua/sandbox.hpp"

namespace wb {

struct eval_options {
  sandbox_limits limits = sandbox_limits::from_env();
  bool trust = false;       // --trust: full standard library, no limits (still in a child process)
  bool in_process = false;  // evaluate without forking (tests of the sandbox itself)
};

// Throws recipe_failure with diagnostics on any error.
recipe_value recipe_eval_file(const std::string& path, const eval_options& options = {});
recipe_value recipe_eval_module(const std::string& module_name, const eval_options& options = {});

// The loader callback for recipe_resolve.
recipe_file_loader recipe_loader(const eval_options& options = {});

// The instance catalog, from the embedded wb.catalog module.
const instance_catalog& catalog_builtin();

// Recipe search path: WB_RECIPE_PATH (colon-separated), then the shipped recipes/ folder.
std::vector<std::string> recipe_search_dirs();

// The whole pipeline with wb's defaults: evaluate, extends, overrides, validate.
resolved_recipe recipe_load(const std::string& path, const std::vector<std::string>& overrides,
                            const eval_options& options = {});

}  // namespace wb
