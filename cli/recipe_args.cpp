// The recipe arguments every recipe-taking command shares.
#include "cli/command.hpp"

namespace wb {

void recipe_args::add_to(CLI::App* app) {
  app->add_option("recipe", path, "Recipe file (.lua)")->required();
  app->add_option("overrides", overrides, "Dotted overrides key=value, e.g. parallel.microbatch=4");
  app->add_flag("--trust", trust,
                "Evaluate the recipe without the sandbox (full Lua library, no limits): only for your own recipes");
}

}  // namespace wb
