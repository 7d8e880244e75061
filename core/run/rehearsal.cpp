// Scaling a recipe down for a rehearsal; see the header.
#include "core/run/rehearsal.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "core/model/param_layout.hpp"

namespace fs = std::filesystem;

namespace wb {

double model_state_bytes(const recipe& r) {
  // fp32 weights, gradients and two AdamW moments: 16 bytes a parameter, plus the 2-byte bf16 weight
  // copies of a bf16 run (core/model/mixed_precision.hpp; ZeRO paper's 2+2+12 has bf16 gradients,
  // wb keeps them fp32).
  double params = double(param_count(r.model));
  double per_param = r.model.precision == "bf16" ? 18 : 16;
  // Activations of one microbatch, at least the residual stream and logits of one layer.
  double activations = double(r.parallel.microbatch) * r.model.seq_len * (double(r.model.dim) * 34 + r.model.vocab) * 4;
  return params * per_param + activations;
}

rehearsal_plan rehearsal_scale(const recipe& r, long long steps, const std::string& default_data) {
  rehearsal_plan p;
  p.scaled = r;
  auto& m = p.scaled.model;
  // Keep the family and the attention shape (heads per kv head), shrink width and depth.
  int group = std::max(1, r.model.heads / std::max(1, r.model.kv_heads));
  int heads = 8, kv = std::max(1, heads / group);
  while (heads % kv) --kv;
  double ffn_ratio = double(r.model.ffn) / double(r.model.dim);
  m.layers = 2;
  m.dim = 256;
  m.heads = heads;
  m.kv_heads = kv;
  m.ffn = std::max(64, int(ffn_ratio * 256 / 16) * 16);
  m.seq_len = std::min(r.model.seq_len, 256);
  p.notes.push_back(fmt::format("model scaled from {} layers x {} dim ({} heads, {} kv heads, ffn {}) to {} x {} ({}, {}, "
                                "ffn {}), sequence {} -> {}", r.model.layers, r.model.dim, r.model.heads,
                                r.model.kv_heads, r.model.ffn, m.layers, m.dim, m.heads, m.kv_heads, m.ffn,
                                r.model.seq_len, m.seq_len));
  if (r.model.init != "random") {
    p.notes.push_back(fmt::format("init \"{}\" replaced by random weights (the base model does not fit here)", r.model.init));
    m.init = "random";
  }
  // Data: the recipe's when present here, else the default mix.
  bool have_data = fs::exists(r.data.tokenizer);
  for (auto& s : r.data.sources) have_data = have_data && fs::exists(fs::path(s.path) / "manifest.json");
  if (!have_data) {
    auto& d = p.scaled.data;
    d.tokenizer = (fs::path(default_data) / "tokenizer.json").string();
    d.sources.clear();
    // Keep the recipe's weights where a default source shares the language of the recipe's.
    d.sources = {{"ja", (fs::path(default_data) / "ja").string(), 0.6},
                 {"en", (fs::path(default_data) / "en").string(), 0.2},
                 {"code", (fs::path(default_data) / "code").string(), 0.1},
                 {"math", (fs::path(default_data) / "math").string(), 0.1}};
    d.valid_fraction = std::max(d.valid_fraction, 0.02);
    p.notes.push_back(fmt::format("the recipe's data ({} and {} sources) is not on this machine: rehearsing on the default "
                                  "mix in {} (ja 60%, en 20%, code 10%, math 10%)", r.data.tokenizer,
                                  r.data.sources.size(), default_data));
  }
  m.vocab = 0;  // set from the tokenizer by the caller
  auto& par = p.scaled.parallel;
  int micro = std::min(par.microbatch, 4);
  p.notes.push_back(fmt::format("layout dp {} x tp {} x pp {} on {} run as one process; global batch {} -> {}, "
                                "microbatch {} -> {}", r.parallel.dp, r.parallel.tp, r.parallel.pp, r.cluster.instance,
                                par.global_batch, 2 * micro, par.microbatch, micro));
  par.dp = par.tp = par.pp = par.virtual_stages = 1;
  par.microbatch = micro;
  par.global_batch = 2 * micro;  // two microbatches: gradient accumulation is exercised
  auto& tr = p.scaled.train;
  double warm_fraction = r.train.steps > 0 ? double(r.optim.warmup_steps) / double(r.train.steps) : 0;
  tr.steps = steps;
  tr.eval_every = steps;
  tr.eval_batches = 2;
  p.scaled.optim.warmup_steps = (long long)(warm_fraction * double(steps));
  p.notes.push_back(fmt::format("{} steps with the recipe's schedule shape ({} warm-up, {} to lr_min)", steps,
                                p.scaled.optim.warmup_steps, r.optim.schedule));
  p.scaled.cluster.instance = "local";
  p.scaled.cluster.nodes = 1;
  return p;
}

}  // namespace wb
