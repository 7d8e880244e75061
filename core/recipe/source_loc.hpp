// Where a recipe value was written: a file and line, or a label such as "command line" for an
// override. Every value in a recipe tree carries one so errors can point at the author's line.
#pragma once
#include <string>

namespace wb {

struct source_loc {
  std::string file;  // path as the user would open it ("recipes/x.lua"), or a label
  int line = 0;      // 1-based; 0 when the place has no line (an override, a default)

  bool known() const { return !file.empty(); }
  std::string str() const { return line > 0 ? file + ":" + std::to_string(line) : file; }
};

}  // namespace wb
