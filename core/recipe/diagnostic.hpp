// One error phrasing for every recipe mistake:
//   recipes/x.lua:14: Invalid 'parallel.tp' 3: expected a divisor of heads (32), got 3
//     hint: try 1, 2, 4 or 8
// A diagnostic with an empty key carries a free-form message (a Lua syntax error, a missing file).
#pragma once
#include <string>
#include <vector>

#include "core/recipe/source_loc.hpp"

namespace wb {

struct recipe_diagnostic {
  source_loc loc;
  std::string key;       // dotted path, "" for file-level errors
  std::string given;     // how the offending value reads ("3", "\"p6\"", "nothing")
  std::string expected;  // what would have been accepted
  std::string got;       // what was found; defaults to `given`
  std::string hint;      // optional advice
  std::string message;   // free-form text when key is empty

  std::string str() const;  // the full text, hint on its own indented line
};

using diagnostics = std::vector<recipe_diagnostic>;

std::string format_diagnostics(const diagnostics& ds);

// Thrown by the resolver when loading stops early (a file that cannot be read or evaluated).
struct recipe_failure {
  diagnostics errors;
};

}  // namespace wb
