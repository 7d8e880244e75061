// Finding the word before the cursor and its completions; see completion.hpp.
#include "repl/completion.hpp"

#include <algorithm>
#include <set>

#include "core/recipe/schema.hpp"

namespace wb {
namespace {

bool word_char(char c) { return std::isalnum((unsigned char)c) || c == '_' || c == '.'; }

// Names directly under `section` ("" is the top level): schema fields, or a map's entries.
std::vector<std::pair<std::string, bool>> children(const std::string& section, const recipe_value* tree) {
  std::vector<std::pair<std::string, bool>> out;  // name, is a section
  const field_spec* spec = section.empty() ? nullptr : schema_find(section);
  if (spec && spec->type == field_type::map) {
    const recipe_value* t = tree ? tree->at_path(section) : nullptr;
    if (t && t->is_table())
      for (auto& [k, _] : t->fields()) out.emplace_back(k, true);
    return out;
  }
  auto dot = section.rfind('.');
  const field_spec* parent = dot == std::string::npos ? nullptr : schema_find(section.substr(0, dot));
  bool map_entry = parent && parent->type == field_type::map;  // data.sources.ja: fields from data.sources.*
  if (!section.empty() && !map_entry && (!spec || spec->type != field_type::section)) return out;
  for (auto& name : schema_children(section)) {
    if (section.empty() && name == "extends") continue;  // a file's link to its base, not a field of r
    const field_spec* child = schema_find(section.empty() ? name : section + "." + name);
    out.emplace_back(name, child && (child->type == field_type::section || child->type == field_type::map));
  }
  return out;
}

// Every leaf path under `section`, for completion inside a string.
void leaf_paths(const std::string& section, const recipe_value* tree, std::vector<std::string>& out) {
  for (auto& [name, is_section] : children(section, tree)) {
    std::string path = section.empty() ? name : section + "." + name;
    if (is_section) leaf_paths(path, tree, out);
    else out.push_back(path);
  }
}

std::string common_prefix(const std::vector<std::string>& xs) {
  if (xs.empty()) return "";
  std::string p = xs.front();
  for (auto& x : xs) {
    size_t n = 0;
    while (n < p.size() && n < x.size() && p[n] == x[n]) ++n;
    p.resize(n);
  }
  return p;
}

}  // namespace

completion complete_word(const std::string& line, const recipe_value* tree, const std::vector<std::string>& globals) {
  completion c;
  size_t start = line.size();
  while (start > 0 && word_char(line[start - 1])) --start;
  c.start = start;
  std::string word = line.substr(start);
  std::set<std::string> found;
  bool in_string = start > 0 && (line[start - 1] == '"' || line[start - 1] == '\'');
  if (in_string) {
    std::vector<std::string> paths;
    leaf_paths("", tree, paths);
    for (auto& p : paths)
      if (p.starts_with(word)) found.insert(p);
  } else if (word.starts_with("r.") && tree) {
    size_t dot = word.rfind('.');
    std::string section = word.substr(2, dot > 2 ? dot - 2 : 0), partial = word.substr(dot + 1);
    std::string prefix = word.substr(0, dot + 1);
    for (auto& [name, is_section] : children(section, tree))
      if (name.starts_with(partial)) found.insert(prefix + name + (is_section ? "." : ""));
  } else if (word.find('.') == std::string::npos) {
    for (auto& g : globals)
      if (g.starts_with(word)) found.insert(g);
  }
  c.candidates.assign(found.begin(), found.end());
  c.common = common_prefix(c.candidates);
  return c;
}

}  // namespace wb
