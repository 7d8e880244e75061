// `wb show RECIPE [key=value ...] [--json]`: the fully resolved recipe, where each value came
// from, and its recipe_hash.
#include <cstdio>
#include <fmt/format.h>

#include "cli/command.hpp"
#include "core/recipe/canonical.hpp"
#include "lua/recipe_eval.hpp"

namespace wb {
namespace {

nlohmann::ordered_json derived_json(const recipe& r) {
  nlohmann::ordered_json d;
  d["devices"] = r.parallel.world();
  d["dp"] = r.parallel.dp;
  d["microbatches_per_step"] = r.parallel.microbatches();
  d["tokens_per_step"] = r.tokens_per_step();
  d["train_tokens"] = (double)r.train.steps * (double)r.tokens_per_step();
  return d;
}

}  // namespace

command add_show_command(CLI::App& app) {
  auto* sub = app.add_subcommand("show", "Print the fully resolved recipe and its recipe_hash");
  auto args = std::make_shared<recipe_args>();
  auto json = std::make_shared<bool>(false);
  args->add_to(sub);
  sub->add_flag("--json", *json, "Print JSON: {recipe_hash, files, recipe, derived}");
  return {sub, [args, json] {
    eval_options options;
    options.trust = args->trust;
    resolved_recipe r = recipe_load(args->path, args->overrides, options);
    if (!r.ok()) {
      std::fputs(format_diagnostics(r.errors).c_str(), stderr);
      return 1;
    }
    if (*json) {
      nlohmann::ordered_json out;
      out["recipe_hash"] = r.hash;
      out["files"] = r.files;
      out["recipe"] = recipe_to_json(r.tree);
      out["derived"] = derived_json(*r.config);
      std::puts(out.dump(2).c_str());
      return 0;
    }
    std::string files;
    for (auto& f : r.files) files += (files.empty() ? "" : " <- ") + f;
    auto d = derived_json(*r.config);
    fmt::print("-- recipe_hash: {}\n-- from: {}\n", r.hash, files);
    fmt::print("-- derived: {} devices, dp {}, {} microbatches per step, {} tokens per step, {:.4g} training tokens\n",
               d["devices"].get<int>(), d["dp"].get<int>(), d["microbatches_per_step"].get<int>(),
               d["tokens_per_step"].get<long long>(), d["train_tokens"].get<double>());
    std::fputs(recipe_to_text(r.tree).c_str(), stdout);
    return 0;
  }};
}

}  // namespace wb
