// Writing the session's changes as a recipe that extends the original; see recipe_save.hpp.
#include "repl/recipe_save.hpp"

#include <filesystem>
#include <fmt/format.h>

#include "core/recipe/schema.hpp"
#include "core/util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace wb {
namespace {

bool is_lua_name(const std::string& k) {
  static const char* const keywords[] = {"and", "break", "do", "else", "elseif", "end", "false", "for",
                                         "function", "goto", "if", "in", "local", "nil", "not", "or",
                                         "repeat", "return", "then", "true", "until", "while"};
  if (k.empty() || !(std::isalpha((unsigned char)k[0]) || k[0] == '_')) return false;
  for (char c : k)
    if (!(std::isalnum((unsigned char)c) || c == '_')) return false;
  for (auto* w : keywords)
    if (k == w) return false;
  return true;
}

std::string lua_key(const std::string& k) { return is_lua_name(k) ? k : "[" + lua_literal(recipe_value::string(k)) + "]"; }

// The constructor a table at `path` is written with: the section's own name at the top level
// (parallel { ... }), `source` for an entry of data.sources, none for plain tables.
std::string constructor_for(const std::string& path) {
  if (path.starts_with("data.sources.") && path.find('.', 13) == std::string::npos) return "source";
  const field_spec* spec = schema_find(path);
  if (spec && spec->type == field_type::section && path.find('.') == std::string::npos) return path;
  return "";
}

void write_table(const recipe_value& t, const std::string& path, int indent, std::string& out) {
  std::string ctor = constructor_for(path);
  out += ctor.empty() ? "{" : ctor + " {";
  bool nested = false;
  for (auto& [k, v] : t.fields()) nested = nested || v.is_table();
  std::string pad(size_t(indent + 2), ' ');
  bool first = true;
  for (auto& [k, v] : t.fields()) {
    std::string child = path.empty() ? k : path + "." + k;
    out += nested ? "\n" + pad : (first ? " " : ", ");
    out += lua_key(k) + " = ";
    if (v.is_table()) write_table(v, child, indent + 2, out);
    else out += lua_literal(v);
    if (nested) out += ",";
    first = false;
  }
  out += nested ? "\n" + std::string(size_t(indent), ' ') + "}" : " }";
}

// Sets `path` in `tree`, creating tables on the way.
void put(recipe_value& tree, const std::string& path, const recipe_value& v) {
  recipe_value* node = &tree;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) { node->set(key, v); return; }
    if (!node->find(key) || !node->find(key)->is_table()) node->set(key, recipe_value::table());
    node = node->find(key);
    start = dot + 1;
  }
}

}  // namespace

std::string extends_name(const std::string& base, const std::string& saved_path) {
  std::error_code ec;
  fs::path target = fs::weakly_canonical(base, ec);
  std::string stem = fs::path(base).stem().string();
  if (auto found = recipe_find(stem, saved_path, recipe_search_dirs()))
    if (fs::weakly_canonical(*found, ec) == target) return stem;
  fs::path from = fs::weakly_canonical(fs::absolute(saved_path), ec).parent_path();
  fs::path rel = target.lexically_relative(from);
  return rel.empty() ? target.string() : rel.string();
}

std::string recipe_save_text(const recipe_session& s, const std::string& saved_path) {
  recipe_value changed = recipe_value::table();
  // Top-level fields in schema order, so the file reads like a recipe written by hand.
  std::vector<recipe_edit> edits = s.changes();
  for (auto& top : schema_children(""))
    for (auto& e : edits)
      if (e.path == top || e.path.starts_with(top + ".")) put(changed, e.path, e.value);
  std::string out = fmt::format("-- Tuned in `wb repl` from {}: only the fields changed there; the rest comes from\n"
                                "-- the recipe it extends.\n", display_path(s.path()));
  out += "return recipe {\n";
  out += "  extends = " + lua_literal(recipe_value::string(extends_name(s.path(), saved_path))) + ",\n";
  for (auto& [k, v] : changed.fields()) {
    out += "  " + lua_key(k) + " = ";
    if (v.is_table()) write_table(v, k, 2, out);
    else out += lua_literal(v);
    out += ",\n";
  }
  return out + "}\n";
}

save_result recipe_save(recipe_session& s, const std::string& saved_path) {
  save_result r;
  r.path = saved_path;
  bool named = false;
  for (auto& e : s.changes()) named = named || e.path == "name";
  if (!named) {
    std::string stem = fs::path(saved_path).stem().string();
    if (stem != s.config().name) {
      diagnostics errors = s.set({{"name", recipe_value::string(stem)}});
      if (!errors.empty()) throw recipe_failure{errors};
      r.renamed = true;
    }
  }
  r.extends = extends_name(s.path(), saved_path);
  r.fields = s.changes();
  std::error_code ec;
  fs::path parent = fs::path(saved_path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  try {
    atomic_write_file(saved_path, recipe_save_text(s, saved_path));
  } catch (...) {
    if (r.renamed) s.reset("name");  // nothing written: the session keeps its name
    throw;
  }
  return r;
}

}  // namespace wb
