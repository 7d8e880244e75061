// The recipe arguments every recipe-taking command shares.
#include <cstdio>

#include "cli/command.hpp"
#include "lua/recipe_eval.hpp"

namespace wb {

void recipe_args::add_to(CLI::App* app) {
  app->add_option("recipe", path, "Recipe file (.lua)")->required();
  app->add_option("overrides", overrides, "Dotted overrides key=value, e.g. parallel.microbatch=4");
  app->add_flag("--trust", trust,
                "Evaluate the recipe without the sandbox (full Lua library, no limits): only for your own recipes");
}

std::optional<resolved_recipe> recipe_args::load() const {
  eval_options options;
  options.trust = trust;
  resolved_recipe r = recipe_load(path, overrides, options);
  if (r.ok()) return r;
  std::fputs(format_diagnostics(r.errors).c_str(), stderr);
  std::fprintf(stderr, "%zu error%s\n", r.errors.size(), r.errors.size() == 1 ? "" : "s");
  return std::nullopt;
}

}  // namespace wb
