// `wb show RECIPE [key=value ...] [--json]`: the fully resolved recipe, where each value came
// from, and its recipe_hash.
#include <cstdio>
#include <fmt/format.h>

#include "cli/command.hpp"
#include "core/data/data_error.hpp"
#include "core/data/shard_set.hpp"
#include "core/recipe/canonical.hpp"

namespace wb {
namespace {

nlohmann::ordered_json derived_json(const recipe& r) {
  nlohmann::ordered_json d;
  d["devices"] = r.parallel.world();
  d["dp"] = r.parallel.dp;
  d["microbatches_per_step"] = r.parallel.microbatches();
  d["tokens_per_step"] = r.tokens_per_step();
  d["train_tokens"] = (double)r.train.steps * (double)r.tokens_per_step();
  // Planned epochs per source, from each shard set's manifest (not opened or verified here: a
  // production set can be terabytes). Epoch size is approximate: tokens plus one EOS per
  // document, less the held-out fraction.
  nlohmann::ordered_json sources = nlohmann::ordered_json::object();
  for (auto& s : r.data.sources) {
    nlohmann::ordered_json e;
    e["weight"] = s.weight;
    e["planned_tokens"] = d["train_tokens"].get<double>() * s.weight;
    try {
      auto m = shard_set_read_manifest(s.path);
      double epoch = double(m.tokens + m.documents) * (1 - r.data.valid_fraction);
      e["available_tokens"] = epoch;
      e["planned_epochs"] = e["planned_tokens"].get<double>() / epoch;
    } catch (data_error& err) {
      e["available_tokens"] = nullptr;
      e["planned_epochs"] = nullptr;
    }
    sources[s.name] = e;
  }
  d["sources"] = sources;
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
    auto loaded = args->load();
    if (!loaded) return 1;
    resolved_recipe& r = *loaded;
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
    for (auto& [name, e] : d["sources"].items()) {
      if (e["planned_epochs"].is_null())
        fmt::print("-- source {}: {:.1f}% of tokens, {:.4g} planned; shard set not prepared\n", name,
                   100 * e["weight"].get<double>(), e["planned_tokens"].get<double>());
      else
        fmt::print("-- source {}: {:.1f}% of tokens, {:.4g} planned of {:.4g} available: {:.2f} epochs\n", name,
                   100 * e["weight"].get<double>(), e["planned_tokens"].get<double>(),
                   e["available_tokens"].get<double>(), e["planned_epochs"].get<double>());
    }
    std::fputs(recipe_to_text(r.tree).c_str(), stdout);
    return 0;
  }};
}

}  // namespace wb
