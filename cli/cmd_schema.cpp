// `wb schema`: every recipe field with type, default, allowed values and meaning, as Markdown.
// docs/recipes.md holds this output; a test fails when the two differ.
#include <cstdio>

#include "cli/command.hpp"
#include "core/recipe/schema.hpp"

namespace wb {

command add_schema_command(CLI::App& app) {
  auto* sub = app.add_subcommand("schema", "Print the recipe fields (type, default, allowed values) as Markdown");
  return {sub, [] {
    std::fputs(schema_markdown().c_str(), stdout);
    return 0;
  }};
}

}  // namespace wb
