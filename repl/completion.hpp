// Tab completion in `wb repl`: `r.par<TAB>` -> `r.parallel.`, `r.parallel.mi<TAB>` -> `r.parallel.microbatch`,
// field paths inside a string (`sweep{["parallel.mi<TAB>`), and the REPL's functions and Lua's globals.
// Recipe fields come from the schema (the one record of every field) plus the map entries the
// recipe has (data.sources.ja). Pure text in, text out: the line editor only inserts the result.
#pragma once
#include <string>
#include <vector>

#include "core/recipe/value.hpp"

namespace wb {

struct completion {
  size_t start = 0;                     // where the completed word begins in the line
  std::vector<std::string> candidates;  // whole words, sorted; sections end with '.'
  std::string common;                   // the longest prefix all candidates share
};

// Completions of the word that ends `line` (the text before the cursor). `tree` is the session's
// recipe (nullptr without one); `globals` the names a bare word may complete to.
completion complete_word(const std::string& line, const recipe_value* tree, const std::vector<std::string>& globals);

}  // namespace wb
