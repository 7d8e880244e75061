// recipe_value: the dynamic tree a recipe evaluates to (nil, boolean, number, string, list, table),
// each node remembering where it was written. Tables keep insertion order; the canonical form used
// for hashing sorts keys (see canonical.hpp).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/recipe/source_loc.hpp"

namespace wb {

class recipe_value {
 public:
  enum class kind { nil, boolean, number, string, list, table };

  recipe_value() = default;
  static recipe_value boolean(bool b, source_loc loc = {});
  static recipe_value number(double n, source_loc loc = {});
  static recipe_value string(std::string s, source_loc loc = {});
  static recipe_value list(source_loc loc = {});
  static recipe_value table(source_loc loc = {});

  kind type() const { return kind_; }
  bool is_nil() const { return kind_ == kind::nil; }
  bool is_table() const { return kind_ == kind::table; }
  bool is_list() const { return kind_ == kind::list; }
  bool is_number() const { return kind_ == kind::number; }
  bool is_string() const { return kind_ == kind::string; }
  bool is_boolean() const { return kind_ == kind::boolean; }
  bool is_integer() const;

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  long long as_int() const { return static_cast<long long>(number_); }
  const std::string& as_string() const { return string_; }

  // list items
  const std::vector<recipe_value>& items() const { return items_; }
  void push(recipe_value v) { items_.push_back(std::move(v)); }

  // table fields, in insertion order
  const std::vector<std::pair<std::string, recipe_value>>& fields() const { return fields_; }
  const recipe_value* find(std::string_view key) const;
  recipe_value* find(std::string_view key);
  void set(const std::string& key, recipe_value v);  // replaces in place or appends
  bool erase(std::string_view key);

  // Dotted paths ("parallel.tp"); nullptr when any step is missing or not a table.
  const recipe_value* at_path(std::string_view path) const;

  source_loc loc;
  bool defaulted = false;  // filled from the schema's default, not written by the recipe

  // How a value reads in an error message or `wb show`: 3, 0.95, "p5.48xlarge", true, {1, 2}.
  std::string describe() const;
  // The noun for its type: "a number", "a string", "a table", ...
  std::string type_noun() const;

  bool operator==(const recipe_value& other) const;  // value equality, ignoring locations

 private:
  kind kind_ = kind::nil;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<recipe_value> items_;
  std::vector<std::pair<std::string, recipe_value>> fields_;
};

// Deep merge: tables merge key by key (over wins), anything else is replaced by `over`.
// Used for `extends`, model presets and overrides alike.
void recipe_merge(recipe_value& base, const recipe_value& over);

// Shortest text that reads back as the same double (integers without a fraction).
std::string format_number(double n);

}  // namespace wb
