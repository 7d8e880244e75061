// The session's edits and their resolution; see recipe_session.hpp.
#include "repl/recipe_session.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "core/recipe/override.hpp"
#include "core/recipe/schema.hpp"
#include "core/util/did_you_mean.hpp"

namespace wb {

std::string lua_literal(const recipe_value& v) {
  switch (v.type()) {
    case recipe_value::kind::nil: return "nil";
    case recipe_value::kind::boolean: return v.as_bool() ? "true" : "false";
    case recipe_value::kind::number: return format_number(v.as_number());
    case recipe_value::kind::string: {
      std::string out = "\"";
      for (unsigned char c : v.as_string()) {
        if (c == '"' || c == '\\') out += '\\', out += char(c);
        else if (c == '\n') out += "\\n";
        else if (c < 0x20 || c == 0x7f) out += fmt::format("\\{:03d}", int(c));
        else out += char(c);
      }
      return out + "\"";
    }
    case recipe_value::kind::list: {
      std::string out = "{";
      for (size_t i = 0; i < v.items().size(); ++i) out += (i ? ", " : "") + lua_literal(v.items()[i]);
      return out + "}";
    }
    case recipe_value::kind::table: {
      std::string out = "{";
      bool first = true;
      for (auto& [k, x] : v.fields()) {
        out += (first ? " " : ", ") + k + " = " + lua_literal(x);
        first = false;
      }
      return out + (first ? "}" : " }");
    }
  }
  return "nil";
}

std::string recipe_field_problem(const recipe_value& tree, const std::string& parent, const std::string& key) {
  std::string path = parent.empty() ? key : parent + "." + key;
  if (tree.at_path(path) || schema_find(path)) return "";
  std::vector<std::string> names;
  const recipe_value* t = tree.at_path(parent);
  const field_spec* spec = schema_find(parent);
  if (parent.empty() || (spec && spec->type == field_type::section))
    names = schema_children(parent);
  else if (t && t->is_table())
    for (auto& [k, _] : t->fields()) names.push_back(k);
  std::string near = did_you_mean(key, names);
  return fmt::format("r.{}: no such field{}", path,
                     near.empty() ? fmt::format(" (fields: {})", join_or(names)) : "; did you mean '" + near + "'?");
}

std::string recipe_session::override_text(const recipe_edit& e) {
  std::string value;
  switch (e.value.type()) {
    case recipe_value::kind::string: value = "\"" + e.value.as_string() + "\""; break;
    case recipe_value::kind::list: {
      value = "{";
      for (size_t i = 0; i < e.value.items().size(); ++i)
        value += (i ? "," : "") + (e.value.items()[i].is_number() ? format_number(e.value.items()[i].as_number())
                                                                   : e.value.items()[i].describe());
      value += "}";
      break;
    }
    default: value = e.value.describe();
  }
  return (e.add ? "+" : "") + e.path + "=" + value;
}

recipe_session::recipe_session(std::string path, eval_options options)
    : path_(std::move(path)), options_(options), evaluated_(std::make_shared<std::map<std::string, recipe_value>>()) {
  original_ = resolve({});
  if (!original_.ok()) throw recipe_failure{original_.errors};
  current_ = original_;
}

resolved_recipe recipe_session::resolve(const std::vector<recipe_edit>& edits) const {
  auto cache = evaluated_;
  eval_options options = options_;
  // Evaluated once per file: the sandboxed evaluation forks, the resolution after it is cheap.
  recipe_file_loader load = [cache, options](const std::string& file) {
    auto it = cache->find(file);
    if (it != cache->end()) return it->second;
    recipe_value tree = recipe_eval_file(file, options);
    (*cache)[file] = tree;
    return tree;
  };
  resolve_options ro;
  ro.search_dirs = recipe_search_dirs();
  ro.override_origin = "repl";
  for (auto& e : edits) ro.overrides.push_back(override_text(e));
  return recipe_resolve(path_, load, catalog_builtin(), ro);
}

resolved_recipe recipe_session::resolve_with(const std::vector<recipe_edit>& extra) const {
  std::vector<recipe_edit> all = edits_;
  all.insert(all.end(), extra.begin(), extra.end());
  return resolve(all);
}

diagnostics recipe_session::set(const std::vector<recipe_edit>& edits) {
  std::vector<recipe_edit> next = edits_;
  for (auto e : edits) {
    // Store the value as the recipe file would hold it (the schema's type), so `save` writes it.
    if (const field_spec* spec = schema_find(e.path);
        spec && spec->type != field_type::section && spec->type != field_type::map) {
      std::string text = override_text(e);
      e.value = override_read_value(*spec, text.substr(text.find('=') + 1), {"repl", 0});
    }
    auto same = [&](const recipe_edit& x) { return x.path == e.path; };
    auto it = std::find_if(next.begin(), next.end(), same);
    if (it != next.end()) { e.add = e.add || it->add; *it = e; }
    else next.push_back(e);
  }
  resolved_recipe r = resolve(next);
  if (!r.ok()) return r.errors;
  edits_ = std::move(next);
  current_ = std::move(r);
  return {};
}

diagnostics recipe_session::reset(const std::string& path) {
  std::vector<recipe_edit> next;
  for (auto& e : edits_)
    if (!(path.empty() || e.path == path || e.path.starts_with(path + "."))) next.push_back(e);
  resolved_recipe r = resolve(next);
  if (!r.ok()) return r.errors;
  edits_ = std::move(next);
  current_ = std::move(r);
  return {};
}

std::vector<recipe_edit> recipe_session::changes() const {
  std::vector<recipe_edit> out;
  for (auto& e : edits_) {
    const recipe_value* before = original_.tree.at_path(e.path);
    if (!before || !(*before == e.value)) out.push_back(e);
  }
  return out;
}

}  // namespace wb
