// Walks the tree against the schema, collecting every mistake with the line that wrote it.
#include "core/recipe/validate.hpp"

#include <cmath>
#include <fmt/format.h>

#include "core/recipe/schema.hpp"
#include "core/util/did_you_mean.hpp"

namespace wb {
namespace {

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// The section's pattern for schema_children: data.sources.ja -> data.sources.* matches via '*'.
void check_table(const recipe_value& table, const std::string& path, const instance_catalog& catalog,
                 diagnostics& out);

void check_leaf(const field_spec& spec, const recipe_value& v, const std::string& path,
                const instance_catalog& catalog, diagnostics& out) {
  if (spec.type == field_type::instance) {
    if (!v.is_string()) {
      out.push_back({v.loc, path, v.describe(), spec.expectation(), v.type_noun()});
      return;
    }
    if (catalog_find(catalog, v.as_string())) return;
    recipe_diagnostic d{v.loc, path, v.describe(), "an instance type from the catalog", ""};
    auto names = catalog_names(catalog);
    auto near = did_you_mean(v.as_string(), names);
    d.hint = near.empty() ? "known types: " + join_or(names)
                          : "did you mean '" + near + "'? known types: " + join_or(names);
    out.push_back(d);
    return;
  }
  if (schema_accepts(spec, v)) return;
  recipe_diagnostic d{v.loc, path, v.describe(), spec.expectation(), ""};
  // Say "got a string" rather than repeating the value when the type itself is wrong.
  bool numeric = spec.type == field_type::integer || spec.type == field_type::number;
  if (numeric && !v.is_number()) d.got = v.type_noun() + " " + v.describe();
  if (spec.type == field_type::boolean && !v.is_boolean()) d.got = v.type_noun() + " " + v.describe();
  if (spec.type == field_type::string && !v.is_string()) d.got = v.type_noun() + " " + v.describe();
  if (spec.type == field_type::integer && v.is_number() && !v.is_integer())
    d.hint = "use a whole number";
  if (spec.type == field_type::choice && v.is_string()) {
    auto near = did_you_mean(v.as_string(), spec.choices);
    if (!near.empty()) d.hint = "did you mean '" + near + "'?";
  }
  if (v.is_number() && !std::isfinite(v.as_number())) d.hint = "values must be finite";
  out.push_back(d);
}

void check_required(const recipe_value& table, const std::string& path, diagnostics& out) {
  for (auto& name : schema_children(path)) {
    if (table.find(name)) continue;
    auto* spec = schema_find(join_path(path, name));
    if (spec && spec->type == field_type::section) {
      // A missing section is fine unless it has required fields: name them, and where to add them.
      for (auto& inner : schema_children(join_path(path, name))) {
        auto* f = schema_find(join_path(path, name) + "." + inner);
        if (!f || !f->required) continue;
        recipe_diagnostic d{table.loc, f->path, "", f->expectation(), "nothing"};
        d.hint = fmt::format("add {0} = {0} {{ {1} = ... }} to the recipe", name, inner);
        out.push_back(d);
      }
      continue;
    }
    if (!spec || !spec->required) continue;
    recipe_diagnostic d{table.loc, join_path(path, name), "", spec->expectation(), "nothing"};
    d.hint = fmt::format("add {} = ... to the {} block", name, path.empty() ? "recipe" : path);
    out.push_back(d);
  }
}

void check_table(const recipe_value& table, const std::string& path, const instance_catalog& catalog,
                 diagnostics& out) {
  for (auto& [key, v] : table.fields()) {
    std::string child = join_path(path, key);
    const field_spec* spec = schema_find(child);
    if (!spec) {
      recipe_diagnostic d{v.loc, child, "", "a known key of '" + (path.empty() ? "recipe" : path) + "'",
                          "'" + key + "'"};
      auto near = did_you_mean(key, schema_children(path));
      d.hint = near.empty() ? "known keys: " + join_or(schema_children(path), " and ")
                            : "did you mean '" + near + "'?";
      out.push_back(d);
      continue;
    }
    if (spec->type == field_type::section) {
      if (!v.is_table()) { out.push_back({v.loc, child, v.describe(), "a table", v.type_noun()}); continue; }
      check_table(v, child, catalog, out);
    } else if (spec->type == field_type::map) {
      if (!v.is_table()) { out.push_back({v.loc, child, v.describe(), "a table of named entries", v.type_noun()}); continue; }
      if (v.fields().empty())
        out.push_back({v.loc, child, "{}", "at least one entry", "an empty table"});
      for (auto& [name, entry] : v.fields()) {
        std::string entry_path = join_path(child, name);
        if (!entry.is_table()) {
          out.push_back({entry.loc, entry_path, entry.describe(), "a table { path = ..., weight = ... }",
                         entry.type_noun()});
          continue;
        }
        check_table(entry, entry_path, catalog, out);
      }
    } else {
      check_leaf(*spec, v, child, catalog, out);
    }
  }
  check_required(table, path, out);
}

}  // namespace

void validate_schema(const recipe_value& tree, const instance_catalog& catalog, diagnostics& out) {
  if (!tree.is_table()) {
    out.push_back({tree.loc, "", "", "", "", "", "the recipe must be a table, got " + tree.type_noun()});
    return;
  }
  check_table(tree, "", catalog, out);
}

namespace {
void fill_defaults(recipe_value& table, const std::string& path) {
  for (auto& name : schema_children(path)) {
    std::string child = join_path(path, name);
    auto* spec = schema_find(child);
    if (!spec) continue;
    auto* v = table.find(name);
    if (spec->type == field_type::section) {
      if (!v) { table.set(name, recipe_value::table(table.loc)); v = table.find(name); }
      fill_defaults(*v, child);
    } else if (spec->type == field_type::map) {
      if (v) for (auto& [entry, _] : v->fields()) fill_defaults(*v->find(entry), join_path(child, entry));
    } else if (!v && !spec->default_value.is_nil()) {
      recipe_value d = spec->default_value;
      d.loc = table.loc;  // a default is charged to the block it completes
      d.defaulted = true;
      table.set(name, d);
    }
  }
}
}  // namespace

void apply_defaults(recipe_value& tree, const instance_catalog& catalog) {
  fill_defaults(tree, "");
  auto* model = tree.find("model");
  if (!model->find("kv_heads") && model->find("heads"))
    model->set("kv_heads", *model->find("heads"));
  auto* train = tree.find("train");
  if (!model->find("init_seed")) model->set("init_seed", *train->find("seed"));

  // dp = "auto": the devices left after tp and pp (local: one replica unless given).
  auto* parallel = tree.find("parallel");
  auto* dp = parallel->find("dp");
  if (dp && dp->is_string()) {
    long long tp = parallel->find("tp")->as_int(), pp = parallel->find("pp")->as_int();
    long long value = 1;
    auto* cluster = tree.find("cluster");
    if (auto* inst = catalog_find(catalog, cluster->find("instance")->as_string()); inst && !inst->is_local) {
      long long devices = (long long)inst->devices_per_node * cluster->find("nodes")->as_int();
      value = devices % (tp * pp) == 0 ? devices / (tp * pp) : 0;  // 0: flagged by layout_check
    }
    auto loc = dp->loc;
    *dp = recipe_value::number((double)value, loc);
  }

  // train.steps from tokens when absent.
  if (!train->find("steps")) {
    const recipe_value* tokens = train->find("tokens");
    if (!tokens) tokens = tree.at_path("data.tokens");
    auto* batch = parallel->find("global_batch");
    auto* seq = model->find("seq_len");
    if (tokens && batch && seq) {
      double per_step = batch->as_number() * seq->as_number();
      train->set("steps", recipe_value::number(std::ceil(tokens->as_number() / per_step), tokens->loc));
    }
  }
}

}  // namespace wb
