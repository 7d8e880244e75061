// The resolution pipeline; see resolve.hpp.
#include "core/recipe/resolve.hpp"

#include <filesystem>
#include <fmt/format.h>

#include "core/recipe/canonical.hpp"
#include "core/recipe/layout_check.hpp"
#include "core/recipe/override.hpp"
#include "core/recipe/validate.hpp"
#include "core/util/did_you_mean.hpp"

namespace fs = std::filesystem;

namespace wb {

std::string display_path(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(path, ec), ec);
  fs::path cwd = fs::current_path(ec);
  auto rel = abs.lexically_relative(cwd);
  if (!rel.empty() && rel.native().rfind("..", 0) != 0) return rel.string();
  return abs.string();
}

std::optional<std::string> recipe_find(const std::string& name, const std::string& from,
                                       const std::vector<std::string>& search_dirs) {
  fs::path here = fs::path(from).parent_path();
  bool is_path = name.find('/') != std::string::npos || name.ends_with(".lua");
  if (is_path) {
    fs::path p = fs::path(name).is_absolute() ? fs::path(name) : here / name;
    if (fs::is_regular_file(p)) return p.string();
    return std::nullopt;
  }
  std::string file = name;
  for (auto& c : file) if (c == '.') c = '/';  // "team.base" -> team/base.lua, as require does
  file += ".lua";
  std::vector<fs::path> dirs{here};
  for (auto& d : search_dirs) dirs.emplace_back(d);
  for (auto& d : dirs) {
    fs::path p = d / file;
    if (fs::is_regular_file(p)) return p.string();
  }
  return std::nullopt;
}

namespace {

std::vector<std::string> available_recipes(const std::string& from, const std::vector<std::string>& dirs) {
  std::vector<std::string> names;
  std::vector<fs::path> all{fs::path(from).parent_path()};
  for (auto& d : dirs) all.emplace_back(d);
  for (auto& d : all) {
    std::error_code ec;
    for (auto& e : fs::directory_iterator(d.empty() ? "." : d, ec))
      if (e.path().extension() == ".lua") names.push_back(e.path().stem().string());
  }
  return names;
}

// Loads `path` and its bases; returns the merged tree. `chain` holds canonical paths being loaded.
recipe_value load_chain(const std::string& path, const recipe_file_loader& load, const resolve_options& options,
                        std::vector<std::string>& chain, std::vector<std::string>& files) {
  recipe_value tree = load(path);
  std::error_code ec;
  chain.push_back(fs::weakly_canonical(path, ec).string());
  recipe_value merged;
  const recipe_value* extends = tree.is_table() ? tree.find("extends") : nullptr;
  if (extends) {
    if (!extends->is_string())
      throw recipe_failure{{{extends->loc, "extends", extends->describe(), "the name of a base recipe",
                             extends->type_noun()}}};
    const std::string& name = extends->as_string();
    auto base = recipe_find(name, path, options.search_dirs);
    if (!base) {
      recipe_diagnostic d{extends->loc, "extends", extends->describe(),
                          "a recipe in the recipe's folder, WB_RECIPE_PATH or recipes/", "no such recipe"};
      auto near = did_you_mean(name, available_recipes(path, options.search_dirs));
      d.hint = near.empty() ? "set WB_RECIPE_PATH to the folder that holds it" : "did you mean '" + near + "'?";
      throw recipe_failure{{d}};
    }
    std::string canonical = fs::weakly_canonical(*base, ec).string();
    for (auto& c : chain)
      if (c == canonical) {
        std::string cycle;
        for (auto& x : chain) cycle += display_path(x) + " -> ";
        cycle += display_path(canonical);
        throw recipe_failure{{{extends->loc, "extends", extends->describe(),
                               "a base recipe that does not extend this one", "the cycle " + cycle}}};
      }
    merged = load_chain(*base, load, options, chain, files);
  }
  files.push_back(display_path(path));
  chain.pop_back();
  if (merged.is_nil()) return tree;
  recipe_merge(merged, tree);
  return merged;
}

}  // namespace

resolved_recipe recipe_resolve(const std::string& path, const recipe_file_loader& load,
                               const instance_catalog& catalog, const resolve_options& options) {
  resolved_recipe out;
  std::vector<std::string> chain;
  try {
    out.tree = load_chain(path, load, options, chain, out.files);
  } catch (recipe_failure& f) {
    out.errors = std::move(f.errors);
    return out;
  }
  out.tree.erase("extends");  // provenance, not a value: the resolved recipe is flat
  apply_overrides(out.tree, options.overrides, out.errors, options.override_origin);
  validate_schema(out.tree, catalog, out.errors);
  if (!out.errors.empty()) return out;

  auto* dp = out.tree.at_path("parallel.dp");
  bool dp_auto = !dp || dp->is_string();
  apply_defaults(out.tree, catalog);
  check_layout(out.tree, dp_auto, catalog, out.errors);
  if (!out.errors.empty()) return out;

  out.hash = recipe_hash(out.tree);
  out.config = recipe_from_tree(out.tree);
  out.config->hash = out.hash;
  out.config->parallel.dp_auto = dp_auto;
  return out;
}

}  // namespace wb
