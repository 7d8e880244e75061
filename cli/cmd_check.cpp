// `wb check RECIPE [key=value ...]`: ok, or every mistake at once with its file and line.
#include <cstdio>

#include "cli/command.hpp"
#include "lua/recipe_eval.hpp"

namespace wb {

command add_check_command(CLI::App& app) {
  auto* sub = app.add_subcommand("check", "Validate a recipe: print ok or every error with its file and line");
  auto args = std::make_shared<recipe_args>();
  args->add_to(sub);
  return {sub, [args] {
    eval_options options;
    options.trust = args->trust;
    resolved_recipe r = recipe_load(args->path, args->overrides, options);
    if (!r.ok()) {
      std::fputs(format_diagnostics(r.errors).c_str(), stderr);
      std::fprintf(stderr, "%zu error%s\n", r.errors.size(), r.errors.size() == 1 ? "" : "s");
      return 1;
    }
    std::puts("ok");
    return 0;
  }};
}

}  // namespace wb
