// The recipe a `wb repl` session tunes: the file it was opened from, the edits made since, and the
// recipe those edits resolve to. Every edit goes through the same path as a command-line override
// (apply_overrides, schema validation, defaults, layout checks), so an invalid edit gets the same
// message `wb check` gives and leaves the recipe as it was. Files are evaluated once (in the
// sandbox) and cached: an edit re-resolves in microseconds, not a fork per keystroke.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/recipe/resolve.hpp"
#include "lua/recipe_eval.hpp"

namespace wb {

// One field set in the session: "parallel.microbatch" = 4. `value` is the value as the recipe
// would write it (read by the field's schema type), before defaults.
struct recipe_edit {
  std::string path;
  recipe_value value;
  bool add = false;  // may create the map entry it names (a new data source), as `+key=value` does
};

class recipe_session {
 public:
  // Loads and validates `path`; throws recipe_failure with every error when it is not valid.
  explicit recipe_session(std::string path, eval_options options = {});

  const std::string& path() const { return path_; }
  const resolved_recipe& current() const { return current_; }
  const recipe& config() const { return *current_.config; }
  const recipe_value& original_tree() const { return original_.tree; }

  // Applies the edits together. On any error nothing changes and the diagnostics are returned.
  diagnostics set(const std::vector<recipe_edit>& edits);
  // Forgets the edit of `path` (and of fields under it): the field reads as in the file again.
  diagnostics reset(const std::string& path);
  // The recipe the session's edits plus `extra` resolve to, without changing the session.
  resolved_recipe resolve_with(const std::vector<recipe_edit>& extra) const;

  // The edits whose value differs from the file's, in the order first made.
  std::vector<recipe_edit> changes() const;

  // `path=value` as apply_overrides reads it; strings are quoted so "4" stays a string.
  static std::string override_text(const recipe_edit& e);

 private:
  resolved_recipe resolve(const std::vector<recipe_edit>& edits) const;

  std::string path_;
  eval_options options_;
  std::shared_ptr<std::map<std::string, recipe_value>> evaluated_;  // file -> tree, filled once
  resolved_recipe original_, current_;
  std::vector<recipe_edit> edits_;
};

// Why `r.<parent>.<key>` names nothing in the recipe, with the nearest names ("" when it is a
// field, set or not, or an entry of a map): "r.parallel.microbach: no such field; did you mean 'microbatch'?".
std::string recipe_field_problem(const recipe_value& tree, const std::string& parent, const std::string& key);

// A recipe value written as Lua source: 4, 0.95, "text", true, {0.9, 0.95}.
std::string lua_literal(const recipe_value& v);

}  // namespace wb
