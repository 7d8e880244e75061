// `wb repl [RECIPE]`: an interactive Lua prompt over a recipe session. Each input is an
// expression (its values are printed) or a statement; an incomplete chunk continues on a `..`
// prompt. Errors print and return to the prompt; Ctrl-C interrupts a running call.
#pragma once
#include <string>

namespace wb {

struct repl_options {
  std::string recipe;     // "" starts without a recipe (open one with open "...")
  bool trust = false;     // evaluate recipes without the sandbox
  bool debug = false;     // tracebacks with errors
};

// Runs until Ctrl-D or end of input; returns the process exit status (1 when the recipe given
// on the command line is not valid).
int repl_main(const repl_options& options);

}  // namespace wb
