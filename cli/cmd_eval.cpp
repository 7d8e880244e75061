// `wb eval RECIPE --ckpt DIR [--tokens FILE]`: loss and perplexity of a checkpoint on the recipe's
// held-out split (per source), or the mean next-token loss over a given token sequence.
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "backends/cpu/cpu_backend.hpp"
#include "cli/checkpoint_arg.hpp"
#include "cli/command.hpp"
#include "core/data/data_loader.hpp"
#include "core/run/generate.hpp"
#include "core/run/train_checkpoint.hpp"
#include "core/run/train_run.hpp"
#include "core/tokenizer/tokenizer_json.hpp"
#include "lua/recipe_eval.hpp"

namespace wb {
namespace {

struct eval_args {
  recipe_args recipe;
  std::string ckpt, tokens;
  int batches = 0;
};

std::vector<int32_t> read_ids(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read the token file");
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    try {
      size_t used;
      long v = std::stol(word, &used);
      if (used != word.size() || v < 0) throw std::invalid_argument(word);
      ids.push_back(int32_t(v));
    } catch (std::exception&) {
      throw std::runtime_error(fmt::format("{}: '{}' is not a token id (ids are non-negative integers separated by "
                                           "whitespace)", path, word));
    }
  }
  return ids;
}

int run_eval(const eval_args& a) {
  auto loaded = a.recipe.load();
  if (!loaded) return 1;
  resolved_recipe& res = *loaded;
  recipe r = *res.config;
  std::string dir = resolve_checkpoint_arg(a.ckpt);
  model m(r.model, 0);
  checkpoint_load_model(dir, m);
  cpu_backend backend(r.train.threads);
  if (!a.tokens.empty()) {
    auto ids = read_ids(a.tokens);
    for (size_t i = 0; i < ids.size(); ++i)
      if (ids[i] >= r.model.vocab)
        throw std::runtime_error(fmt::format("{}: token {} is id {}, outside the model's vocabulary ({})", a.tokens, i,
                                             ids[i], r.model.vocab));
    auto l = mean_next_token_loss(m, backend, ids);
    fmt::print("{}: mean next-token loss {:.4f}, perplexity {:.2f} over {} predicted tokens\n", dir, l.mean,
               std::exp(l.mean), l.targets);
    return 0;
  }
  tokenizer tok = tokenizer_load(r.data.tokenizer);
  data_loader loader = recipe_data_loader(r, tok);
  if (a.batches > 0) r.train.eval_batches = a.batches;
  eval_report e = evaluate_valid(r, m, backend, loader, 0);
  fmt::print("{}: validation loss {:.4f}, perplexity {:.2f}\n", dir, e.loss, std::exp(e.loss));
  for (auto& [name, loss] : e.by_source) fmt::print("  {:<10} loss {:.4f}  perplexity {:.2f}\n", name, loss, std::exp(loss));
  return 0;
}

}  // namespace

command add_eval_command(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "Loss and perplexity of a checkpoint on the held-out split or a token file");
  auto a = std::make_shared<eval_args>();
  a->recipe.add_to(sub);
  sub->add_option("--ckpt", a->ckpt, "Checkpoint (step-N folder, checkpoint folder or run directory)")->required();
  sub->add_option("--tokens", a->tokens, "Token ids separated by whitespace: print the mean next-token loss over them");
  sub->add_option("--batches", a->batches, "Microbatches per source (default train.eval_batches)");
  return {sub, [a] {
    try {
      return run_eval(*a);
    } catch (std::exception& e) {
      std::fprintf(stderr, "wb eval: %s\n", e.what());
      return 1;
    }
  }};
}

}  // namespace wb
