// The recipe fields. Key names are a stable interface (overrides, the REPL, --json and docs use
// them): add fields freely, never rename one.
#include "core/recipe/schema.hpp"

#include <cmath>
#include <fmt/format.h>

#include "core/util/did_you_mean.hpp"

namespace wb {
namespace {

field_spec section(std::string path, std::string doc) {
  field_spec f; f.path = std::move(path); f.type = field_type::section; f.doc = std::move(doc); return f;
}
field_spec integer(std::string path, std::optional<double> def, double min, std::string doc,
                   std::optional<double> max = std::nullopt) {
  field_spec f; f.path = std::move(path); f.type = field_type::integer; f.doc = std::move(doc);
  f.min = min; f.max = max;
  if (def) f.default_value = recipe_value::number(*def);
  return f;
}
field_spec number(std::string path, std::optional<double> def, std::optional<double> min,
                  std::string doc, std::optional<double> max = std::nullopt) {
  field_spec f; f.path = std::move(path); f.type = field_type::number; f.doc = std::move(doc);
  f.min = min; f.max = max;
  if (def) f.default_value = recipe_value::number(*def);
  return f;
}
field_spec boolean(std::string path, bool def, std::string doc) {
  field_spec f; f.path = std::move(path); f.type = field_type::boolean; f.doc = std::move(doc);
  f.default_value = recipe_value::boolean(def);
  return f;
}
field_spec string(std::string path, std::optional<std::string> def, std::string doc) {
  field_spec f; f.path = std::move(path); f.type = field_type::string; f.doc = std::move(doc);
  if (def) f.default_value = recipe_value::string(*def);
  return f;
}
field_spec choice(std::string path, std::optional<std::string> def, std::vector<std::string> choices,
                  std::string doc) {
  field_spec f; f.path = std::move(path); f.type = field_type::choice; f.doc = std::move(doc);
  f.choices = std::move(choices);
  if (def) f.default_value = recipe_value::string(*def);
  return f;
}
field_spec required(field_spec f) { f.required = true; return f; }
field_spec derived(field_spec f, std::string how) { f.default_doc = std::move(how); return f; }
field_spec exclusive_min(field_spec f) { f.min_exclusive = true; return f; }
field_spec exclusive_max(field_spec f) { f.max_exclusive = true; return f; }

std::vector<field_spec> build_schema() {
  std::vector<field_spec> s;
  s.push_back(required(string("name", std::nullopt, "Name of the run; names the run directory.")));
  s.push_back(string("description", "", "One line on what the recipe is for."));
  s.push_back(string("extends", std::nullopt,
      "Base recipe this one builds on: a name found in the recipe's folder, WB_RECIPE_PATH or "
      "recipes/, or a path to a .lua file. Its fields are merged under this recipe's."));

  s.push_back(section("model", "The network: architecture, sizes and initialisation."));
  s.push_back(required(choice("model.family", std::nullopt, {"llama", "gpt"},
      "llama: RMSNorm, RoPE, grouped-query attention, SwiGLU (Llama 2/3). gpt: LayerNorm, learned "
      "positions, GELU (GPT-2/3).")));
  s.push_back(required(integer("model.layers", std::nullopt, 1, "Transformer blocks (L).")));
  s.push_back(required(integer("model.dim", std::nullopt, 1, "Hidden size (C, d_model).")));
  s.push_back(required(integer("model.heads", std::nullopt, 1, "Attention heads (NH).")));
  s.push_back(derived(integer("model.kv_heads", std::nullopt, 1,
      "Key/value heads for grouped-query attention; must divide heads."), "model.heads"));
  s.push_back(required(integer("model.ffn", std::nullopt, 1,
      "Feed-forward inner size (SwiGLU width for llama, 4*dim for GPT-3).")));
  s.push_back(required(integer("model.vocab", std::nullopt, 1, "Vocabulary size (V).")));
  s.push_back(required(integer("model.seq_len", std::nullopt, 1, "Training sequence length (T).")));
  s.push_back(boolean("model.tied_embeddings", false, "Share the input embedding and output projection."));
  s.push_back(exclusive_min(number("model.norm_eps", 1e-5, 0.0, "Epsilon of RMSNorm/LayerNorm.", 1.0)));
  s.push_back(exclusive_min(number("model.rope_theta", 10000.0, 0.0, "RoPE base frequency (llama).")));
  s.push_back(string("model.init", "random",
      "\"random\" (seeded by model.init_seed), \"ckpt:DIR\" (a wb checkpoint) or \"hf:DIR\" (a Hugging "
      "Face Llama directory) for continued pre-training."));
  s.push_back(derived(integer("model.init_seed", std::nullopt, 0, "Seed of random initialisation."),
      "train.seed"));
  s.push_back(choice("model.precision", "fp32", {"fp32", "bf16"},
      "fp32, or bf16 mixed precision (bf16 compute, fp32 master weights and optimizer state)."));

  s.push_back(section("data", "What the model reads: a weighted mix of token shard sets."));
  {
    field_spec m; m.path = "data.sources"; m.type = field_type::map; m.required = true;
    m.doc = "Named sources, each { path, weight }; weights are normalised to sum to 1.";
    s.push_back(m);
  }
  s.push_back(required(string("data.sources.*.path", std::nullopt,
      "Shard set directory (from `wb data prepare`), relative to the working directory.")));
  s.push_back(required(exclusive_min(number("data.sources.*.weight", std::nullopt, 0.0,
      "Share of training tokens from this source, before normalisation; > 0."))));
  s.push_back(required(string("data.tokenizer", std::nullopt, "tokenizer.json of the model's tokenizer.")));
  s.push_back(exclusive_min(number("data.tokens", std::nullopt, 0.0,
      "Total training tokens of the mix; sets train.steps when neither train.steps nor train.tokens is given.")));
  s.push_back(exclusive_max(number("data.valid_fraction", 0.005, 0.0,
      "Fraction of each source held out for evaluation.", 0.5)));
  s.push_back(choice("data.on_exhaust", "repeat", {"repeat", "stop"},
      "When a source runs out before the budget: start another epoch with a new shuffle, or stop."));

  s.push_back(section("parallel", "How the model and batch are split over devices."));
  {
    field_spec f; f.path = "parallel.dp"; f.type = field_type::integer_or_auto; f.min = 1;
    f.default_value = recipe_value::string("auto");
    f.doc = "Data-parallel replicas, or \"auto\": the devices left after tp and pp.";
    s.push_back(f);
  }
  s.push_back(integer("parallel.tp", 1, 1, "Tensor-parallel degree (Megatron); divides heads and kv_heads."));
  s.push_back(integer("parallel.pp", 1, 1, "Pipeline stages; divides layers."));
  s.push_back(integer("parallel.virtual_stages", 1, 1,
      "Interleaved pipeline chunks per stage (Narayanan et al. 2021); layers divisible by pp*virtual_stages."));
  s.push_back(integer("parallel.zero", 1, 0, "ZeRO stage: 0 none, 1 optimizer states, 2 +gradients, 3 +parameters.", 3));
  s.push_back(integer("parallel.microbatch", 1, 1, "Sequences per microbatch per data-parallel replica."));
  s.push_back(required(integer("parallel.global_batch", std::nullopt, 1,
      "Sequences per optimizer step over all replicas; a multiple of microbatch*dp.")));
  s.push_back(choice("parallel.recompute", "none", {"none", "selective", "full"},
      "Activation recomputation (Korthikanti et al. 2022): none, selective (attention core) or full."));
  s.push_back(boolean("parallel.sequence_parallel", false,
      "With tp > 1, split the residual stream and the norms over the tensor-parallel group by tokens "
      "(Korthikanti et al. 2022; docs/distributed.md); seq_len must be a multiple of tp."));
  s.push_back(boolean("parallel.overlap_grad_reduce", true,
      "With dp > 1, reduce each bucket of gradients on a communication thread while backward continues "
      "(PyTorch DDP, Megatron-LM; docs/distributed.md); with tp > 1 or pp > 1 over an endpoint of its own. "
      "false: after backward."));
  s.push_back(boolean("parallel.offload", false, "Keep optimizer states in host memory (ZeRO-Offload). Not implemented yet: true is refused."));

  s.push_back(section("cluster", "Where the run executes."));
  {
    field_spec f; f.path = "cluster.instance"; f.type = field_type::instance;
    f.default_value = recipe_value::string("local");
    f.doc = "Instance type from the catalog (`require \"wb.catalog\"`), or \"local\" for this machine.";
    s.push_back(f);
  }
  s.push_back(integer("cluster.nodes", 1, 1, "Number of instances."));
  s.push_back(exclusive_min(number("cluster.price_per_hour", std::nullopt, 0.0,
      "USD per instance-hour; overrides the catalog's on-demand price.")));
  s.push_back(choice("cluster.launcher", "local", {"local", "slurm"}, "How ranks are started."));
  s.push_back(choice("cluster.fabric", "auto", {"auto", "efa", "shm", "tcp", "sockets"},
      "libfabric provider; auto: efa on instances that have it, shm on one node, else tcp. FI_PROVIDER wins."));
  s.push_back(string("cluster.partition", std::nullopt, "Slurm partition."));
  s.push_back(string("cluster.time_limit", std::nullopt, "Slurm time limit (HH:MM:SS or D-HH:MM:SS)."));

  s.push_back(section("optim", "Optimizer and learning-rate schedule."));
  s.push_back(choice("optim.algorithm", "adamw", {"adamw"}, "AdamW with decoupled weight decay."));
  s.push_back(required(exclusive_min(number("optim.lr", std::nullopt, 0.0, "Peak learning rate."))));
  s.push_back(number("optim.lr_min", 0.0, 0.0, "Learning rate at the end of decay; <= lr."));
  {
    field_spec f; f.path = "optim.betas"; f.type = field_type::number_list; f.list_length = 2;
    f.min = 0.0; f.max = 1.0; f.max_exclusive = true;
    f.default_value = recipe_value::list();
    f.default_value.push(recipe_value::number(0.9));
    f.default_value.push(recipe_value::number(0.95));
    f.doc = "Adam beta1 and beta2, each in [0, 1).";
    s.push_back(f);
  }
  s.push_back(exclusive_min(number("optim.eps", 1e-8, 0.0, "Adam epsilon.")));
  s.push_back(number("optim.weight_decay", 0.1, 0.0, "Decoupled weight decay (not applied to norms and biases)."));
  s.push_back(integer("optim.warmup_steps", 0, 0, "Linear warm-up steps from 0 to lr."));
  s.push_back(choice("optim.schedule", "cosine", {"cosine", "linear", "constant"},
      "Decay after warm-up, from lr to lr_min over the remaining steps."));
  s.push_back(number("optim.clip", 1.0, 0.0, "Global gradient-norm clipping threshold; 0 disables."));

  s.push_back(section("train", "How long and how the run is driven."));
  s.push_back(derived(integer("train.steps", std::nullopt, 1, "Optimizer steps."),
      "train.tokens (or data.tokens) / (global_batch * seq_len), rounded up"));
  s.push_back(exclusive_min(number("train.tokens", std::nullopt, 0.0, "Tokens to train on; sets steps when steps is absent.")));
  s.push_back(integer("train.log_every", 10, 1, "Steps between log lines."));
  s.push_back(integer("train.eval_every", 100, 0, "Steps between validation-loss evaluations; 0 never."));
  s.push_back(integer("train.eval_batches", 8, 1, "Microbatches per evaluation."));
  s.push_back(integer("train.seed", 1234, 0, "Seed of everything random: init, data order, dropout."));
  s.push_back(choice("train.nan_policy", "stop", {"stop", "skip"},
      "On a NaN/Inf loss or gradient: stop, or skip the batch and continue."));
  s.push_back(integer("train.threads", 0, 0, "CPU threads for the local backend; 0 uses every core."));

  s.push_back(section("checkpoint", "When and where the training state is saved."));
  s.push_back(string("checkpoint.dir", "checkpoints", "Directory, relative to the run directory unless absolute."));
  s.push_back(integer("checkpoint.every", 0, 0, "Steps between checkpoints; 0 only at the end and on SIGTERM."));
  s.push_back(integer("checkpoint.keep", 3, 1, "Newest complete checkpoints kept."));
  s.push_back(boolean("checkpoint.async", true, "Write in a background thread while training continues."));
  s.push_back(string("checkpoint.resume", "auto",
      "\"auto\" (newest complete checkpoint of the run, if any), \"never\", or a checkpoint path."));
  return s;
}

bool path_matches(const std::string& pattern, const std::string& path) {
  size_t i = 0, j = 0;
  while (i < pattern.size() && j < path.size()) {
    if (pattern[i] == '*') {
      while (j < path.size() && path[j] != '.') ++j;
      ++i;
      continue;
    }
    if (pattern[i] != path[j]) return false;
    ++i; ++j;
  }
  return i == pattern.size() && j == path.size();
}

std::string quoted_list(const std::vector<std::string>& xs) {
  std::vector<std::string> q;
  for (auto& x : xs) q.push_back("\"" + x + "\"");
  return join_or(q);
}

std::string bound_text(double v) { return format_number(v); }

}  // namespace

const std::vector<field_spec>& recipe_schema() {
  static const std::vector<field_spec> schema = build_schema();
  return schema;
}

const field_spec* schema_find(const std::string& path) {
  for (auto& f : recipe_schema())
    if (path_matches(f.path, path)) return &f;
  return nullptr;
}

std::vector<std::string> schema_children(const std::string& section_path) {
  std::vector<std::string> out;
  for (auto& f : recipe_schema()) {
    std::string parent, name;
    auto dot = f.path.rfind('.');
    if (dot == std::string::npos) { parent = ""; name = f.path; }
    else { parent = f.path.substr(0, dot); name = f.path.substr(dot + 1); }
    if (path_matches(parent, section_path) || parent == section_path) out.push_back(name);
  }
  return out;
}

std::string field_spec::type_name() const {
  switch (type) {
    case field_type::section: return "section";
    case field_type::map: return "map of sections";
    case field_type::integer: return "integer";
    case field_type::number: return "number";
    case field_type::boolean: return "boolean";
    case field_type::string: return "string";
    case field_type::choice: return "choice";
    case field_type::instance: return "instance type";
    case field_type::integer_or_auto: return "integer or \"auto\"";
    case field_type::number_list: return fmt::format("list of {} numbers", list_length);
  }
  return "?";
}

std::string field_spec::expectation() const {
  auto range = [&](const std::string& noun) {
    std::string out = noun;
    if (min && max)
      out += fmt::format(" in {}{}, {}{}", min_exclusive ? "(" : "[", bound_text(*min), bound_text(*max),
                         max_exclusive ? ")" : "]");
    else if (min) out += fmt::format(" {} {}", min_exclusive ? ">" : ">=", bound_text(*min));
    else if (max) out += fmt::format(" {} {}", max_exclusive ? "<" : "<=", bound_text(*max));
    return out;
  };
  switch (type) {
    case field_type::section: return "a table";
    case field_type::map: return "a table of named entries";
    case field_type::integer: return range("an integer");
    case field_type::number: return range("a number");
    case field_type::boolean: return "true or false";
    case field_type::string: return "a string";
    case field_type::choice: return "one of " + quoted_list(choices);
    case field_type::instance: return "an instance type from the catalog";
    case field_type::integer_or_auto: return range("an integer") + " or \"auto\"";
    case field_type::number_list: return fmt::format("a list of {} numbers", list_length) +
                                         (min ? range("").insert(0, ", each") : "");
  }
  return "?";
}

bool schema_accepts(const field_spec& f, const recipe_value& v) {
  auto in_range = [&](double x) {
    if (f.min && (f.min_exclusive ? x <= *f.min : x < *f.min)) return false;
    if (f.max && (f.max_exclusive ? x >= *f.max : x > *f.max)) return false;
    return std::isfinite(x);
  };
  switch (f.type) {
    case field_type::section:
    case field_type::map: return v.is_table();
    case field_type::integer: return v.is_integer() && in_range(v.as_number());
    case field_type::number: return v.is_number() && in_range(v.as_number());
    case field_type::boolean: return v.is_boolean();
    case field_type::string: return v.is_string();
    case field_type::instance: return v.is_string();
    case field_type::choice:
      if (!v.is_string()) return false;
      for (auto& c : f.choices) if (c == v.as_string()) return true;
      return false;
    case field_type::integer_or_auto:
      return (v.is_string() && v.as_string() == "auto") || (v.is_integer() && in_range(v.as_number()));
    case field_type::number_list:
      if (!v.is_list() || v.items().size() != f.list_length) return false;
      for (auto& x : v.items()) if (!x.is_number() || !in_range(x.as_number())) return false;
      return true;
  }
  return false;
}

std::string schema_markdown() {
  std::string out;
  for (auto& f : recipe_schema()) {
    if (f.type == field_type::section) {
      out += fmt::format("\n## `{}`\n{}\n\n| field | type | default | allowed | meaning |\n|---|---|---|---|---|\n",
                         f.path, f.doc);
      continue;
    }
    std::string def = f.required ? "required"
                      : !f.default_doc.empty() ? "= " + f.default_doc
                      : f.default_value.is_nil() ? "absent" : "`" + f.default_value.describe() + "`";
    std::string allowed = f.type == field_type::choice ? quoted_list(f.choices) : f.expectation();
    if (f.path.find('.') == std::string::npos && out.find("## top level") == std::string::npos)
      out += "\n## top level\n\n| field | type | default | allowed | meaning |\n|---|---|---|---|---|\n";
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", f.path, f.type_name(), def, allowed, f.doc);
  }
  return out;
}

}  // namespace wb
