// Formatting of recipe diagnostics in the one phrasing documented in STYLE.md §5.
#include "core/recipe/diagnostic.hpp"

namespace wb {

std::string recipe_diagnostic::str() const {
  std::string out = loc.known() ? loc.str() + ": " : "";
  if (key.empty()) {
    out += message;
  } else {
    out += "Invalid '" + key + "'";
    if (!given.empty()) out += " " + given;
    out += ": expected " + expected + ", got " + (got.empty() ? given : got);
  }
  if (!hint.empty()) out += "\n  hint: " + hint;
  return out;
}

std::string format_diagnostics(const diagnostics& ds) {
  std::string out;
  for (auto& d : ds) out += d.str() + "\n";
  return out;
}

}  // namespace wb
