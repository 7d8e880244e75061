// recipe_from_tree: the resolved tree (validated, defaults applied) into typed structs.
#include "core/recipe/recipe.hpp"

#include <algorithm>

namespace wb {
namespace {
const recipe_value& at(const recipe_value& t, const char* path) {
  static const recipe_value nil;
  auto* v = t.at_path(path);
  return v ? *v : nil;
}
long long integer(const recipe_value& t, const char* path) { return at(t, path).as_int(); }
double number(const recipe_value& t, const char* path) { return at(t, path).as_number(); }
std::string string(const recipe_value& t, const char* path) { return at(t, path).as_string(); }
bool boolean(const recipe_value& t, const char* path) { return at(t, path).as_bool(); }
std::optional<double> optional_number(const recipe_value& t, const char* path) {
  auto& v = at(t, path);
  return v.is_number() ? std::optional<double>(v.as_number()) : std::nullopt;
}
std::optional<std::string> optional_string(const recipe_value& t, const char* path) {
  auto& v = at(t, path);
  return v.is_string() ? std::optional<std::string>(v.as_string()) : std::nullopt;
}
}  // namespace

recipe recipe_from_tree(const recipe_value& t) {
  recipe r;
  r.name = string(t, "name");
  r.description = string(t, "description");

  auto& m = r.model;
  m.family = string(t, "model.family");
  m.layers = (int)integer(t, "model.layers");
  m.dim = (int)integer(t, "model.dim");
  m.heads = (int)integer(t, "model.heads");
  m.kv_heads = (int)integer(t, "model.kv_heads");
  m.ffn = (int)integer(t, "model.ffn");
  m.vocab = (int)integer(t, "model.vocab");
  m.seq_len = (int)integer(t, "model.seq_len");
  m.tied_embeddings = boolean(t, "model.tied_embeddings");
  m.norm_eps = number(t, "model.norm_eps");
  m.rope_theta = number(t, "model.rope_theta");
  m.init = string(t, "model.init");
  m.init_seed = integer(t, "model.init_seed");
  m.precision = string(t, "model.precision");

  auto& d = r.data;
  double total = 0;
  if (auto* sources = t.at_path("data.sources"))
    for (auto& [name, s] : sources->fields()) {
      d.sources.push_back({name, s.find("path")->as_string(), s.find("weight")->as_number()});
      total += d.sources.back().weight;
    }
  for (auto& s : d.sources) s.weight /= total;
  std::sort(d.sources.begin(), d.sources.end(), [](auto& a, auto& b) { return a.name < b.name; });
  d.tokenizer = string(t, "data.tokenizer");
  d.tokens = optional_number(t, "data.tokens");
  d.valid_fraction = number(t, "data.valid_fraction");
  d.on_exhaust = string(t, "data.on_exhaust");

  auto& p = r.parallel;
  p.dp = (int)integer(t, "parallel.dp");
  p.dp_auto = false;
  p.tp = (int)integer(t, "parallel.tp");
  p.pp = (int)integer(t, "parallel.pp");
  p.virtual_stages = (int)integer(t, "parallel.virtual_stages");
  p.zero = (int)integer(t, "parallel.zero");
  p.microbatch = (int)integer(t, "parallel.microbatch");
  p.global_batch = (int)integer(t, "parallel.global_batch");
  p.recompute = string(t, "parallel.recompute");
  p.sequence_parallel = boolean(t, "parallel.sequence_parallel");
  p.offload = boolean(t, "parallel.offload");
  p.overlap_grad_reduce = boolean(t, "parallel.overlap_grad_reduce");

  auto& c = r.cluster;
  c.instance = string(t, "cluster.instance");
  c.nodes = (int)integer(t, "cluster.nodes");
  c.price_per_hour = optional_number(t, "cluster.price_per_hour");
  c.launcher = string(t, "cluster.launcher");
  c.fabric = string(t, "cluster.fabric");
  c.partition = optional_string(t, "cluster.partition");
  c.time_limit = optional_string(t, "cluster.time_limit");

  auto& o = r.optim;
  o.algorithm = string(t, "optim.algorithm");
  o.lr = number(t, "optim.lr");
  o.lr_min = number(t, "optim.lr_min");
  auto& betas = at(t, "optim.betas");
  o.beta1 = betas.items().at(0).as_number();
  o.beta2 = betas.items().at(1).as_number();
  o.eps = number(t, "optim.eps");
  o.weight_decay = number(t, "optim.weight_decay");
  o.warmup_steps = integer(t, "optim.warmup_steps");
  o.schedule = string(t, "optim.schedule");
  o.clip = number(t, "optim.clip");

  auto& tr = r.train;
  tr.steps = integer(t, "train.steps");
  tr.tokens = optional_number(t, "train.tokens");
  tr.log_every = integer(t, "train.log_every");
  tr.eval_every = integer(t, "train.eval_every");
  tr.eval_batches = integer(t, "train.eval_batches");
  tr.seed = integer(t, "train.seed");
  tr.nan_policy = string(t, "train.nan_policy");
  tr.threads = (int)integer(t, "train.threads");

  auto& k = r.checkpoint;
  k.dir = string(t, "checkpoint.dir");
  k.every = integer(t, "checkpoint.every");
  k.keep = integer(t, "checkpoint.keep");
  k.async = boolean(t, "checkpoint.async");
  k.resume = string(t, "checkpoint.resume");
  return r;
}

}  // namespace wb
