// Layout and consistency rules. Sources for the rules that are not plain arithmetic:
//  - tp must divide heads and kv_heads: Megatron-LM splits whole heads and whole query groups
//    across tensor-parallel ranks (megatron/core/transformer/attention.py, num_query_groups % tp).
//  - interleaved schedules need microbatches divisible by pp (Narayanan et al. 2021 §2.2.2; Megatron
//    asserts num_microbatches % pipeline_model_parallel_size == 0).
//  - ZeRO-2/3 partition gradients/parameters across data-parallel ranks, which DeepSpeed does not
//    support together with pipeline parallelism (DeepSpeed docs, "Pipeline Parallelism": ZeRO-1 only).
#include "core/recipe/layout_check.hpp"

#include <fmt/format.h>
#include <numeric>

#include "core/util/did_you_mean.hpp"

namespace wb {
namespace {

struct view {
  const recipe_value& tree;
  const recipe_value& at(const char* path) const { return *tree.at_path(path); }
  long long integer(const char* path) const { return at(path).as_int(); }
};

std::string divisors_hint(long long n, long long limit) {
  std::vector<std::string> ds;
  for (long long d = 1; d <= n && d <= limit; ++d) if (n % d == 0) ds.push_back(std::to_string(d));
  return "try " + join_or(ds);
}

}  // namespace

void check_layout(const recipe_value& tree, bool dp_auto, const instance_catalog& catalog,
                  diagnostics& out) {
  view r{tree};
  long long layers = r.integer("model.layers"), dim = r.integer("model.dim");
  long long heads = r.integer("model.heads"), kv = r.integer("model.kv_heads");
  long long tp = r.integer("parallel.tp"), pp = r.integer("parallel.pp");
  long long vs = r.integer("parallel.virtual_stages"), dp = r.integer("parallel.dp");
  long long mb = r.integer("parallel.microbatch"), gb = r.integer("parallel.global_batch");
  long long zero = r.integer("parallel.zero"), nodes = r.integer("cluster.nodes");

  // The model itself.
  if (dim % heads != 0)
    out.push_back({r.at("model.heads").loc, "model.heads", std::to_string(heads),
                   fmt::format("a divisor of dim ({})", dim), "", divisors_hint(dim, heads * 2)});
  if (heads % kv != 0)
    out.push_back({r.at("model.kv_heads").loc, "model.kv_heads", std::to_string(kv),
                   fmt::format("a divisor of heads ({})", heads), "", divisors_hint(heads, heads)});

  // Tensor and pipeline splits.
  const instance_spec* inst = catalog_find(catalog, r.at("cluster.instance").as_string());
  long long per_node = inst && !inst->is_local ? inst->devices_per_node : 0;
  if (heads % tp != 0 || kv % tp != 0) {
    long long g = std::gcd(heads, kv);
    long long which = heads % tp != 0 ? heads : kv;
    out.push_back({r.at("parallel.tp").loc, "parallel.tp", std::to_string(tp),
                   fmt::format("a divisor of {} ({})", heads % tp != 0 ? "heads" : "kv_heads", which), "",
                   divisors_hint(g, per_node ? per_node : g)});
  }
  // Sequence parallel splits each sequence's tokens over the tp group (Megatron-LM asserts
  // seq_length % tensor_model_parallel_size == 0 with --sequence-parallel). Only for a tp that
  // splits the heads, so a wrong tp gives one error, not two.
  bool tp_splits_heads = heads % tp == 0 && kv % tp == 0;
  if (r.at("parallel.sequence_parallel").as_bool() && tp > 1 && tp_splits_heads && r.integer("model.seq_len") % tp != 0)
    out.push_back({r.at("parallel.sequence_parallel").loc, "parallel.sequence_parallel", "true",
                   fmt::format("false, or a model.seq_len ({}) that parallel.tp ({}) divides", r.integer("model.seq_len"), tp), "",
                   "set sequence_parallel = false or make seq_len a multiple of tp"});
  if (layers % pp != 0)
    out.push_back({r.at("parallel.pp").loc, "parallel.pp", std::to_string(pp),
                   fmt::format("a divisor of layers ({})", layers), "", divisors_hint(layers, 64)});
  if (vs > 1) {
    if (pp == 1)
      out.push_back({r.at("parallel.virtual_stages").loc, "parallel.virtual_stages", std::to_string(vs),
                     "1 without pipeline parallelism (pp = 1)", "", "set parallel.pp > 1 or virtual_stages = 1"});
    else if (layers % (pp * vs) != 0)
      out.push_back({r.at("parallel.virtual_stages").loc, "parallel.virtual_stages", std::to_string(vs),
                     fmt::format("pp*virtual_stages to divide layers ({})", layers),
                     fmt::format("{}*{} = {}", pp, vs, pp * vs)});
  }
  // Offloading optimizer states to host memory (ZeRO-Offload, Ren et al. 2021) is neither planned
  // nor run yet: refused rather than silently ignored.
  if (r.at("parallel.offload").as_bool())
    out.push_back({r.at("parallel.offload").loc, "parallel.offload", "true", "false", "",
                   "offloading optimizer states is not implemented yet; use parallel.zero to shard them instead"});
  if (zero >= 2 && pp > 1)
    out.push_back({r.at("parallel.zero").loc, "parallel.zero", std::to_string(zero),
                   fmt::format("0 or 1 with pipeline parallelism (pp = {})", pp), "",
                   "ZeRO-2/3 shard gradients across micro-steps that a pipeline interleaves; use zero = 1"});

  // Devices: dp*tp*pp must use the cluster exactly.
  if (per_node) {
    long long devices = per_node * nodes;
    std::string cluster = fmt::format("{} devices ({} x {} with {} each)", devices, nodes, inst->name, per_node);
    if (dp_auto && dp == 0)
      out.push_back({r.at("parallel.tp").loc, "parallel.tp", std::to_string(tp),
                     "tp*pp to divide the " + cluster, fmt::format("tp*pp = {}*{} = {}", tp, pp, tp * pp)});
    else if (!dp_auto && dp * tp * pp != devices)
      out.push_back({r.at("parallel.dp").loc, "parallel.dp", std::to_string(dp),
                     "dp*tp*pp to equal the " + cluster,
                     fmt::format("{}*{}*{} = {}", dp, tp, pp, dp * tp * pp),
                     devices % (tp * pp) == 0 ? fmt::format("dp = {} (or \"auto\")", devices / (tp * pp)) : ""});
  }

  // Batch: global = microbatch * dp * microbatches.
  if (dp > 0) {
    if (mb > gb)
      out.push_back({r.at("parallel.microbatch").loc, "parallel.microbatch", std::to_string(mb),
                     fmt::format("at most global_batch ({})", gb)});
    else if (gb % (mb * dp) != 0) {
      long long unit = mb * dp, below = gb / unit * unit, above = below + unit;
      out.push_back({r.at("parallel.global_batch").loc, "parallel.global_batch", std::to_string(gb),
                     fmt::format("a multiple of microbatch*dp ({}*{} = {})", mb, dp, unit), "",
                     below > 0 ? fmt::format("nearest: {} or {}", below, above) : fmt::format("try {}", above)});
    } else if (vs > 1 && (gb / (mb * dp)) % pp != 0)
      out.push_back({r.at("parallel.global_batch").loc, "parallel.global_batch", std::to_string(gb),
                     fmt::format("microbatches per replica (global_batch/(microbatch*dp) = {}) divisible by pp ({}) "
                                 "for the interleaved schedule", gb / (mb * dp), pp)});
  }

  // Run length and schedule.
  if (!tree.at_path("train.steps"))
    out.push_back({r.at("train").loc, "train.steps", "", "train.steps, train.tokens or data.tokens to set the run length",
                   "nothing", "add steps = N to the train block"});
  else {
    long long steps = r.integer("train.steps");
    long long warmup = r.integer("optim.warmup_steps");
    if (warmup > steps)
      out.push_back({r.at("optim.warmup_steps").loc, "optim.warmup_steps", std::to_string(warmup),
                     fmt::format("at most train.steps ({})", steps)});
  }
  double lr = r.at("optim.lr").as_number(), lr_min = r.at("optim.lr_min").as_number();
  if (lr_min > lr)
    out.push_back({r.at("optim.lr_min").loc, "optim.lr_min", r.at("optim.lr_min").describe(),
                   fmt::format("at most optim.lr ({})", format_number(lr))});

  // Initialisation source.
  auto& init = r.at("model.init");
  const std::string& s = init.as_string();
  bool ok = s == "random" || (s.rfind("hf:", 0) == 0 && s.size() > 3) || (s.rfind("ckpt:", 0) == 0 && s.size() > 5);
  if (!ok)
    out.push_back({init.loc, "model.init", init.describe(), "\"random\", \"hf:DIR\" or \"ckpt:DIR\"", "",
                   "continued pre-training from Hugging Face weights: init = \"hf:/fsx/Meta-Llama-3-8B\""});
}

}  // namespace wb
