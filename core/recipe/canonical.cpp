// Canonical JSON, hashing and the two printed forms of a resolved recipe.
#include "core/recipe/canonical.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "core/recipe/schema.hpp"
#include "core/util/sha256.hpp"

namespace wb {
namespace {

template <class Json>
Json leaf_json(const recipe_value& v) {
  switch (v.type()) {
    case recipe_value::kind::nil: return nullptr;
    case recipe_value::kind::boolean: return v.as_bool();
    case recipe_value::kind::number:
      if (v.is_integer()) return (long long)v.as_number();
      return v.as_number();
    case recipe_value::kind::string: return v.as_string();
    case recipe_value::kind::list: {
      Json a = Json::array();
      for (auto& x : v.items()) a.push_back(leaf_json<Json>(x));
      return a;
    }
    case recipe_value::kind::table: {
      Json o = Json::object();
      auto fields = v.fields();
      std::sort(fields.begin(), fields.end(), [](auto& a, auto& b) { return a.first < b.first; });
      for (auto& [k, x] : fields) o[k] = leaf_json<Json>(x);
      return o;
    }
  }
  return nullptr;
}

std::string join(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// Children of a table in schema order, then any the schema does not know (map entries, sorted).
std::vector<std::pair<std::string, const recipe_value*>> ordered(const recipe_value& t, const std::string& path) {
  std::vector<std::pair<std::string, const recipe_value*>> out;
  const field_spec* spec = schema_find(path);
  if (spec && spec->type == field_type::map) {
    for (auto& [k, v] : t.fields()) out.emplace_back(k, &v);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.first < b.first; });
    return out;
  }
  for (auto& name : schema_children(path))
    if (auto* v = t.find(name)) out.emplace_back(name, v);
  return out;
}

nlohmann::ordered_json ordered_json(const recipe_value& v, const std::string& path) {
  if (!v.is_table()) return leaf_json<nlohmann::ordered_json>(v);
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (auto& [k, child] : ordered(v, path)) o[k] = ordered_json(*child, join(path, k));
  return o;
}

void text_lines(const recipe_value& v, const std::string& path, std::vector<std::pair<std::string, std::string>>& out) {
  if (v.is_table()) {
    for (auto& [k, child] : ordered(v, path)) text_lines(*child, join(path, k), out);
    return;
  }
  std::string where = v.defaulted ? "default" : v.loc.str();
  out.emplace_back(path + " = " + v.describe(), where);
}

}  // namespace

std::string canonical_json(const recipe_value& tree) { return leaf_json<nlohmann::json>(tree).dump(); }

std::string recipe_hash(const recipe_value& tree) { return sha256_hex(canonical_json(tree)); }

nlohmann::ordered_json recipe_to_json(const recipe_value& tree) { return ordered_json(tree, ""); }

std::string recipe_to_text(const recipe_value& tree) {
  std::vector<std::pair<std::string, std::string>> lines;
  text_lines(tree, "", lines);
  size_t width = 0;
  for (auto& [l, _] : lines) width = std::max(width, l.size());
  width = std::min<size_t>(width, 60);
  std::string out;
  for (auto& [l, where] : lines) out += fmt::format("{:<{}}  -- {}\n", l, width, where);
  return out;
}

}  // namespace wb
