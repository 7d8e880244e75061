// `save "recipes/my_tuned.lua"`: the tuned recipe as a recipe file that `extends` the one the
// session opened and sets only the fields changed since, so a reader sees the tuning at a glance
// and later changes to the base still flow through. Loading the file gives the session's recipe
// (the same recipe_hash): tests/repl/recipe_save_test.cpp checks it.
#pragma once
#include <string>
#include <vector>

#include "repl/recipe_session.hpp"

namespace wb {

struct save_result {
  std::string path;       // as written
  std::string extends;    // how the file names the session's recipe
  std::vector<recipe_edit> fields;  // what it sets
  bool renamed = false;   // the session's name was set to the file's stem first
};

// How a recipe saved at `saved_path` names `base`: its name when `extends = name` finds that very
// file from there, else a path relative to the saved file's folder.
std::string extends_name(const std::string& base, const std::string& saved_path);

// The file's text for the session's changes.
std::string recipe_save_text(const recipe_session& s, const std::string& saved_path);

// Writes the file atomically. When the session never changed `name`, it is first set to the
// file's stem ("my_tuned"), so the tuned run does not share the original's run directories.
save_result recipe_save(recipe_session& s, const std::string& saved_path);

}  // namespace wb
