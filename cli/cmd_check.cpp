// `wb check RECIPE [key=value ...]`: ok, or every mistake at once with its file and line.
#include <cstdio>

#include "cli/command.hpp"

namespace wb {

command add_check_command(CLI::App& app) {
  auto* sub = app.add_subcommand("check", "Validate a recipe: print ok or every error with its file and line");
  auto args = std::make_shared<recipe_args>();
  args->add_to(sub);
  return {sub, [args] {
    if (!args->load()) return 1;
    std::puts("ok");
    return 0;
  }};
}

}  // namespace wb
