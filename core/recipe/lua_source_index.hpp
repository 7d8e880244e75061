// Finds the line of each `key = value` in a Lua source, so that a recipe value can be traced to the
// line that wrote it. Lua itself records only the line of a constructor call (`parallel {`); this
// index lexes the file once and lists the top-level keys of every table constructor by the line on
// which the constructor opens. Comments, strings and long brackets are skipped as Lua does.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wb {

class lua_source_index {
 public:
  explicit lua_source_index(std::string_view source);

  // The line of `key =` among the top-level fields of the first table constructor opened on
  // `table_line` that has that key; 0 when there is none.
  int key_line(int table_line, std::string_view key) const;

  // The line of the table constructor that follows the chunk's last top-level `return`
  // (directly or as the argument of a call: `return recipe { ... }`); 0 when there is none.
  int return_table_line() const { return return_table_line_; }

  int lines() const { return lines_; }

 private:
  struct table_keys {
    int open_line;
    std::vector<std::pair<std::string, int>> keys;
  };
  std::vector<table_keys> tables_;  // in order of opening
  int return_table_line_ = 0;
  int lines_ = 1;
};

}  // namespace wb
