// The `wb` command line: each command lives in its own cmd_<name>.cpp and registers a CLI11
// subcommand plus the function that runs it. Exit status: 0 ok, 1 the recipe or input is wrong,
// 2 the command line is wrong.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/recipe/resolve.hpp"

namespace wb {

struct command {
  CLI::App* app;
  std::function<int()> run;
};

// Shared by every command that takes a recipe: RECIPE [key=value ...] [--trust].
struct recipe_args {
  std::string path;
  std::vector<std::string> overrides;
  bool trust = false;
  void add_to(CLI::App* app);
  // Evaluates and validates the recipe; on errors prints them to stderr and returns nothing.
  std::optional<resolved_recipe> load() const;
};

command add_check_command(CLI::App& app);
command add_show_command(CLI::App& app);
command add_schema_command(CLI::App& app);
command add_data_command(CLI::App& app);
command add_run_command(CLI::App& app);
command add_ckpt_command(CLI::App& app);
command add_eval_command(CLI::App& app);
command add_sample_command(CLI::App& app);
command add_plan_command(CLI::App& app);
command add_repl_command(CLI::App& app);

}  // namespace wb
