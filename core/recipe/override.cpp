// Parsing and applying dotted overrides.
#include "core/recipe/override.hpp"

#include <charconv>
#include <cmath>

#include "core/recipe/schema.hpp"
#include "core/util/did_you_mean.hpp"

namespace wb {
namespace {

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  if (*begin == '+') ++begin;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string unquote(const std::string& s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

// Reads the text as the schema's type wants it; anything unreadable stays a string so that the
// validator reports "expected an integer, got a string "abc"".
recipe_value override_read_value(const field_spec& spec, const std::string& text, const source_loc& loc) {
  double n;
  switch (spec.type) {
    case field_type::integer:
    case field_type::number:
      if (parse_double(text, n)) return recipe_value::number(n, loc);
      break;
    case field_type::integer_or_auto:
      if (text != "auto" && parse_double(text, n)) return recipe_value::number(n, loc);
      break;
    case field_type::boolean:
      if (text == "true") return recipe_value::boolean(true, loc);
      if (text == "false") return recipe_value::boolean(false, loc);
      break;
    case field_type::number_list: {
      std::string body = text;
      if (!body.empty() && (body.front() == '[' || body.front() == '{')) body = body.substr(1, body.size() - 2);
      recipe_value list = recipe_value::list(loc);
      size_t start = 0;
      while (start <= body.size()) {
        size_t comma = body.find(',', start);
        std::string item = body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!parse_double(item, n)) return recipe_value::string(text, loc);
        list.push(recipe_value::number(n, loc));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return list;
    }
    default:
      break;
  }
  return recipe_value::string(unquote(text), loc);
}

namespace {

std::vector<std::string> all_paths() {
  std::vector<std::string> paths;
  for (auto& f : recipe_schema()) paths.push_back(f.path);
  return paths;
}

}  // namespace

bool looks_like_override(const std::string& word) {
  auto eq = word.find('=');
  return eq != std::string::npos && eq > 0 && word[0] != '-';
}

void apply_overrides(recipe_value& tree, const std::vector<std::string>& overrides, diagnostics& out,
                     const std::string& origin) {
  for (auto& text : overrides) {
    source_loc loc{origin + " (" + text + ")", 0};
    auto eq = text.find('=');
    std::string path = text.substr(0, eq), value_text = text.substr(eq + 1);
    bool add = !path.empty() && path[0] == '+';
    if (add) path = path.substr(1);
    const field_spec* spec = schema_find(path);
    if (!spec) {
      recipe_diagnostic d{loc, path, "", "a key of the recipe", "no such key"};
      auto near = did_you_mean(path, all_paths());
      d.hint = near.empty() ? "see `wb show RECIPE` for the keys" : "did you mean '" + near + "'?";
      out.push_back(d);
      continue;
    }
    if (spec->type == field_type::section || spec->type == field_type::map) {
      out.push_back({loc, path, "", "a single field such as " + path + "." + schema_children(path).front(),
                     "a whole " + spec->type_name()});
      continue;
    }
    // Walk to the parent, creating sections; map entries must exist unless added with '+'.
    recipe_value* node = &tree;
    std::string walked;
    bool failed = false;
    size_t start = 0;
    while (true) {
      size_t dot = path.find('.', start);
      if (dot == std::string::npos) break;
      std::string key = path.substr(start, dot - start);
      std::string parent = walked;
      walked = walked.empty() ? key : walked + "." + key;
      recipe_value* next = node->find(key);
      const field_spec* parent_spec = schema_find(parent);
      bool is_map_entry = parent_spec && parent_spec->type == field_type::map;
      if (!next) {
        if (is_map_entry && !add) {
          std::vector<std::string> names;
          for (auto& [k, _] : node->fields()) names.push_back(k);
          recipe_diagnostic d{loc, walked, "", "an existing entry of '" + parent + "' (" + join_or(names) + ")",
                              "'" + key + "'"};
          auto near = did_you_mean(key, names);
          d.hint = near.empty() ? "add an entry with +" + path + "=..." : "did you mean '" + near + "'?";
          out.push_back(d);
          failed = true;
          break;
        }
        node->set(key, recipe_value::table(loc));
        next = node->find(key);
      }
      if (!next->is_table()) {
        out.push_back({loc, walked, "", "a table", next->type_noun()});
        failed = true;
        break;
      }
      node = next;
      start = dot + 1;
    }
    if (failed) continue;
    node->set(path.substr(start), override_read_value(*spec, value_text, loc));
  }
}

}  // namespace wb
