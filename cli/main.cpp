// wb: declare a training run in a Lua recipe, foresee its cost, tune it, run it.
#include <cstdio>
#include <cstring>

#include "cli/command.hpp"
#include "core/util/did_you_mean.hpp"

int main(int argc, char** argv) {
  CLI::App app{"wb: an LLM-training workbench. Declare a run in a Lua recipe, check it, see it resolved.\n"
               "Docs: docs/recipes.md (fields), README.md (set-up)."};
  app.set_version_flag("--version", "wb " WB_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  std::vector<wb::command> commands = {wb::add_check_command(app), wb::add_show_command(app),
                                       wb::add_schema_command(app), wb::add_data_command(app),
                                       wb::add_run_command(app), wb::add_eval_command(app),
                                       wb::add_sample_command(app), wb::add_ckpt_command(app),
                                       wb::add_plan_command(app), wb::add_repl_command(app)};

  // An unknown command gets a suggestion rather than CLI11's generic "not expected".
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (auto& c : commands) names.push_back(c.app->get_name());
    bool known = false;
    for (auto& n : names) known |= n == argv[1];
    if (!known) {
      std::string near = wb::did_you_mean(argv[1], names);
      std::fprintf(stderr, "wb: unknown command '%s'%s\nRun 'wb --help' for the commands.\n", argv[1],
                   near.empty() ? "" : ("; did you mean '" + near + "'?").c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "wb: %s\nRun 'wb %s--help' for usage.\n", e.what(),
                 app.get_subcommands().empty() ? "" : (app.get_subcommands()[0]->get_name() + " ").c_str());
    return 2;
  }
  for (auto& c : commands)
    if (c.app->parsed()) return c.run();
  return 2;
}
