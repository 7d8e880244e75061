// One training run of a recipe on this process: the model, the blended data loader, the trainer,
// evaluation on the held-out split, metrics.jsonl and the progress callbacks. The compute backend
// is passed in (core does not depend on backends). Memory peaks come from the engine's accountant.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/parallel/collective.hpp"
#include "core/recipe/recipe.hpp"
#include "core/tensor/backend.hpp"
#include "core/data/data_loader.hpp"
#include "core/tensor/tensor.hpp"

namespace wb {

struct layer_hooks;  // core/tensor/tape.hpp

struct run_options {
  std::string run_dir;      // exists; metrics.jsonl is written here
  long long steps = 0;      // 0: the recipe's train.steps (or, when resuming, the checkpoint's)
  std::string resume;       // "": the recipe's checkpoint.resume; "auto", "never" or a checkpoint path
  nlohmann::json recipe_json;  // the resolved recipe, stored in every checkpoint
  std::string recipe_hash;
  // Set (by SIGTERM or SIGINT) to finish the current step, write a checkpoint and return.
  const std::atomic<bool>* stop = nullptr;
  // These ranks (null: one process) in the recipe's layout: tp x dp x pp (core/parallel/rank_layout.hpp).
  // Each data-parallel replica reads its slice of every global batch and the gradients are
  // averaged; rank 0 alone writes metrics and checkpoints (gathering the model-parallel shards) and
  // calls the observer. A stop on any rank stops all of them after the same step.
  collective* ranks = nullptr;
};

struct step_report {
  long long step = 0, steps = 0, tokens = 0;  // step is 1-based; tokens trained so far
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0, step_time_s = 0, eta_s = 0;
  bool skipped = false;
};

struct eval_report {
  long long step = 0;
  double loss = 0;  // mean over sources, weighted by the mix
  std::vector<std::pair<std::string, double>> by_source;
};

struct run_observer {
  std::function<void(const step_report&)> on_step;
  std::function<void(const eval_report&)> on_eval;
};

struct run_summary {
  long long steps = 0;             // the last step trained
  long long resumed_from = 0;      // step of the checkpoint resumed from, 0 for a fresh run
  bool stopped = false;            // stopped by options.stop after saving
  std::string last_checkpoint;
  std::string init;                // where the initial weights came from ("" for random)
  std::vector<double> checkpoint_blocked_s;  // how long training waited for each save
  double first_loss = 0, last_loss = 0, seconds = 0;
  std::vector<eval_report> evals;
  long long params = 0;
};

class data_loader;
class model;
struct tokenizer;

// The recipe's data mix as a loader: its sources, seq_len, seed, held-out fraction and exhaustion
// policy, checked against the tokenizer (fingerprint, vocabulary no larger than the model's).
data_loader recipe_data_loader(const recipe& r, const tokenizer& tok, int dp_rank = 0, int dp_size = 1);

// Splits loader rows of T+1 tokens into inputs (rows, T) and next-token targets (rows, T).
void fill_batch_rows(const std::vector<uint32_t>& rows, int T, const tensor& tokens, const tensor& targets);

// Mean loss of `eval_batches` microbatches of each source's held-out split (weighted by the mix).
// Under pipeline parallel every stage calls it with its group and gets the same report; under
// ZeRO-3 every data-parallel rank calls it with the trainer's zero3 hooks (which gather the layers).
eval_report evaluate_valid(const recipe& r, const model& m, compute_backend& backend, const data_loader& loader,
                           long long step, collective* pipeline = nullptr, const layer_hooks* hooks = nullptr);

// Throws data_error / tokenizer_error / std::runtime_error with a message for the user.
run_summary train_run(const recipe& r, compute_backend& backend, const run_options& options,
                      const run_observer& observer = {});

}  // namespace wb
