// The typed, validated recipe the engine runs from. Built only from a resolved tree that passed
// validation (see resolve.hpp), so every field here has a value. Dimension letters used across wb:
// B batch (sequences), T sequence length, C model dim, NH heads, L layers, V vocabulary.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/recipe/value.hpp"

namespace wb {

struct model_config {
  std::string family;        // "llama" | "gpt"
  int layers = 0, dim = 0, heads = 0, kv_heads = 0, ffn = 0, vocab = 0, seq_len = 0;
  bool tied_embeddings = false;
  double norm_eps = 1e-5, rope_theta = 10000;
  std::string init;          // "random" | "ckpt:DIR" | "hf:DIR"
  long long init_seed = 0;
  std::string precision;     // "fp32" | "bf16"
  int head_dim() const { return dim / heads; }
};

struct data_source {
  std::string name, path;
  double weight = 0;         // normalised: the sources' weights sum to 1
};

struct data_config {
  std::vector<data_source> sources;  // sorted by name
  std::string tokenizer;
  std::optional<double> tokens;
  double valid_fraction = 0;
  std::string on_exhaust;
};

struct parallel_config {
  int dp = 1, tp = 1, pp = 1, virtual_stages = 1, zero = 0, microbatch = 1, global_batch = 1;
  bool dp_auto = false;
  std::string recompute;     // "none" | "selective" | "full"
  bool sequence_parallel = false, offload = false;
  bool overlap_grad_reduce = true;
  int world() const { return dp * tp * pp; }
  int microbatches() const { return global_batch / (microbatch * dp); }  // per replica per step
};

struct cluster_config {
  std::string instance, launcher, fabric;
  int nodes = 1;
  std::optional<double> price_per_hour;
  std::optional<std::string> partition, time_limit;
};

struct optim_config {
  std::string algorithm, schedule;
  double lr = 0, lr_min = 0, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0, clip = 0;
  long long warmup_steps = 0;
};

struct train_config {
  long long steps = 0, log_every = 10, eval_every = 0, eval_batches = 1, seed = 0;
  std::optional<double> tokens;
  std::string nan_policy;
  int threads = 0;
};

struct checkpoint_config {
  std::string dir, resume;
  long long every = 0, keep = 1;
  bool async = true;
};

struct recipe {
  std::string name, description;
  model_config model;
  data_config data;
  parallel_config parallel;
  cluster_config cluster;
  optim_config optim;
  train_config train;
  checkpoint_config checkpoint;
  std::string hash;          // recipe_hash of the resolved tree
  long long tokens_per_step() const { return (long long)parallel.global_batch * model.seq_len; }
};

// Reads a resolved, validated tree into the typed form.
recipe recipe_from_tree(const recipe_value& tree);

}  // namespace wb
