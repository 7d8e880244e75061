// recipe_value: construction, lookup, description and deep merge.
#include "core/recipe/value.hpp"

#include <cmath>
#include <fmt/format.h>

namespace wb {

recipe_value recipe_value::boolean(bool b, source_loc loc) {
  recipe_value v; v.kind_ = kind::boolean; v.bool_ = b; v.loc = std::move(loc); return v;
}
recipe_value recipe_value::number(double n, source_loc loc) {
  recipe_value v; v.kind_ = kind::number; v.number_ = n; v.loc = std::move(loc); return v;
}
recipe_value recipe_value::string(std::string s, source_loc loc) {
  recipe_value v; v.kind_ = kind::string; v.string_ = std::move(s); v.loc = std::move(loc); return v;
}
recipe_value recipe_value::list(source_loc loc) {
  recipe_value v; v.kind_ = kind::list; v.loc = std::move(loc); return v;
}
recipe_value recipe_value::table(source_loc loc) {
  recipe_value v; v.kind_ = kind::table; v.loc = std::move(loc); return v;
}

bool recipe_value::is_integer() const {
  // 2^53: the largest range in which every integer is exactly representable in a double (IEEE 754).
  return kind_ == kind::number && std::isfinite(number_) && std::floor(number_) == number_ &&
         std::fabs(number_) <= 9007199254740992.0;
}

const recipe_value* recipe_value::find(std::string_view key) const {
  for (auto& [k, v] : fields_) if (k == key) return &v;
  return nullptr;
}
recipe_value* recipe_value::find(std::string_view key) {
  for (auto& [k, v] : fields_) if (k == key) return &v;
  return nullptr;
}
void recipe_value::set(const std::string& key, recipe_value v) {
  if (auto* existing = find(key)) { *existing = std::move(v); return; }
  fields_.emplace_back(key, std::move(v));
}
bool recipe_value::erase(std::string_view key) {
  for (auto it = fields_.begin(); it != fields_.end(); ++it)
    if (it->first == key) { fields_.erase(it); return true; }
  return false;
}

const recipe_value* recipe_value::at_path(std::string_view path) const {
  const recipe_value* node = this;
  while (!path.empty()) {
    if (!node->is_table()) return nullptr;
    auto dot = path.find('.');
    node = node->find(path.substr(0, dot));
    if (!node) return nullptr;
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return node;
}

std::string format_number(double n) {
  if (std::isnan(n)) return "nan";
  if (std::isinf(n)) return n > 0 ? "inf" : "-inf";
  if (std::floor(n) == n && std::fabs(n) < 1e15) return fmt::format("{}", static_cast<long long>(n));
  return fmt::format("{}", n);
}

static std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') { out += '\\'; out += c; }
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out + "\"";
}

std::string recipe_value::describe() const {
  switch (kind_) {
    case kind::nil: return "nil";
    case kind::boolean: return bool_ ? "true" : "false";
    case kind::number: return format_number(number_);
    case kind::string: return quote(string_);
    case kind::list: {
      std::string out = "{";
      for (size_t i = 0; i < items_.size(); ++i) out += (i ? ", " : "") + items_[i].describe();
      return out + "}";
    }
    case kind::table: {
      std::string out = "{";
      for (size_t i = 0; i < fields_.size(); ++i)
        out += (i ? ", " : "") + fields_[i].first + " = " + fields_[i].second.describe();
      return out + "}";
    }
  }
  return "?";
}

std::string recipe_value::type_noun() const {
  switch (kind_) {
    case kind::nil: return "nothing";
    case kind::boolean: return "a boolean";
    case kind::number: return "a number";
    case kind::string: return "a string";
    case kind::list: return "a list";
    case kind::table: return "a table";
  }
  return "?";
}

bool recipe_value::operator==(const recipe_value& o) const {
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case kind::nil: return true;
    case kind::boolean: return bool_ == o.bool_;
    case kind::number: return number_ == o.number_;
    case kind::string: return string_ == o.string_;
    case kind::list: return items_ == o.items_;
    case kind::table:
      if (fields_.size() != o.fields_.size()) return false;
      for (auto& [k, v] : fields_) {
        auto* w = o.find(k);
        if (!w || !(v == *w)) return false;
      }
      return true;
  }
  return false;
}

void recipe_merge(recipe_value& base, const recipe_value& over) {
  if (base.is_table() && over.is_table()) {
    for (auto& [k, v] : over.fields()) {
      if (auto* b = base.find(k)) recipe_merge(*b, v);
      else base.set(k, v);
    }
    if (over.loc.known()) base.loc = over.loc;  // errors about the block point at the newest writer
    return;
  }
  base = over;
}

}  // namespace wb
