// `wb repl [RECIPE] [--trust] [--debug]`: tune a recipe interactively (repl/repl.hpp, docs/repl.md).
#include "cli/command.hpp"
#include "repl/repl.hpp"

namespace wb {

command add_repl_command(CLI::App& app) {
  auto* sub = app.add_subcommand("repl", "Interactive Lua prompt over a recipe: edit fields, plan, sweep, probe, save");
  auto o = std::make_shared<repl_options>();
  sub->add_option("recipe", o->recipe, "Recipe file (.lua) to open");
  sub->add_flag("--trust", o->trust, "Evaluate recipes without the sandbox: only for your own recipes");
  sub->add_flag("--debug", o->debug, "Show a Lua traceback with each error");
  return {sub, [o] { return repl_main(*o); }};
}

}  // namespace wb
