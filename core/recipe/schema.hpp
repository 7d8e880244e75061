// The recipe schema: every field registered once (path, type, default, allowed values, range, doc).
// That one record drives validation, defaults, `wb show`, docs/recipes.md and REPL completion.
// Paths are dotted; "*" stands for a user-chosen name in a map (data.sources.*.weight).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/recipe/value.hpp"

namespace wb {

enum class field_type {
  section,          // a table of further fields
  map,              // a table whose keys the user names, each entry a section ("data.sources")
  integer,
  number,
  boolean,
  string,
  choice,           // one of `choices`
  instance,         // an instance type from the catalog
  integer_or_auto,  // an integer or the string "auto"
  number_list,      // exactly `list_length` numbers
};

struct field_spec {
  std::string path;
  field_type type = field_type::string;
  std::string doc;
  bool required = false;
  recipe_value default_value;        // nil: no default (optional and absent, or derived; see doc)
  std::string default_doc;           // how the default reads in docs when it is derived
  std::vector<std::string> choices;  // for choice
  std::optional<double> min, max;    // inclusive bounds
  bool min_exclusive = false;        // min is a strict lower bound (> instead of >=)
  bool max_exclusive = false;
  size_t list_length = 0;            // for number_list

  std::string expectation() const;   // "an integer >= 1", "one of \"none\", \"selective\" or \"full\""
  std::string type_name() const;     // for docs: "integer", "number", "string", ...
};

const std::vector<field_spec>& recipe_schema();

// The spec for a concrete path ("data.sources.ja.weight" matches "data.sources.*.weight").
const field_spec* schema_find(const std::string& path);

// Names allowed directly under a section path ("parallel" -> dp, tp, ...); "" is the top level.
std::vector<std::string> schema_children(const std::string& section_path);

// Whether `value` is acceptable for `spec` on its own (type and range, not cross-field rules).
bool schema_accepts(const field_spec& spec, const recipe_value& value);

// The recipe fields as Markdown: the generated part of docs/recipes.md.
std::string schema_markdown();

}  // namespace wb
