// Model construction (arenas, deterministic init) and the shared head: final hidden states ->
// logits against the (tied or separate) output matrix -> fused cross-entropy.
#include "core/model/model.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "core/model/mixed_precision.hpp"
#include "core/model/tensor_parallel_ops.hpp"
#include "core/parallel/collective.hpp"

namespace wb {
namespace {

// Box-Muller on mt19937_64 draws: std::normal_distribution is implementation-defined, this is the
// same sequence on every standard library.
void fill_normal(float* out, int64_t n, float std, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&] { return (double(rng() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };  // (0, 1)
  for (int64_t i = 0; i < n; i += 2) {
    double r = std::sqrt(-2.0 * std::log(uniform())), a = 2.0 * M_PI * uniform();
    out[i] = float(r * std::cos(a)) * std;
    if (i + 1 < n) out[i + 1] = float(r * std::sin(a)) * std;
  }
}

}  // namespace

recompute_mode recompute_from_string(const std::string& s) {
  if (s == "none" || s.empty()) return recompute_mode::none;
  if (s == "selective") return recompute_mode::selective;
  if (s == "full") return recompute_mode::full;
  throw std::invalid_argument(fmt::format("Invalid 'parallel.recompute' '{}': expected none, selective or full", s));
}

model::model(const model_config& cfg, uint64_t seed, collective* tensor_parallel, pipeline_stage stage)
    : cfg_(cfg), stage_(stage) {
  if (!cfg.precision.empty() && cfg.precision != "fp32" && cfg.precision != "bf16")
    throw std::invalid_argument(fmt::format("Invalid 'model.precision' \"{}\": expected \"fp32\" or \"bf16\"", cfg.precision));
  if (std::string err = pipeline_stage_error(cfg.layers, stage.stages, stage.virtual_stages); !err.empty())
    throw std::invalid_argument("Invalid pipeline layout: " + err);
  if (stage.stage < 0 || stage.stage >= stage.stages)
    throw std::invalid_argument(fmt::format("Invalid pipeline stage {} of {}", stage.stage, stage.stages));
  // The parameters this stage holds; each keeps its index in the whole layout, which seeds its
  // initialisation, so a stage's values are those of the single-process model.
  std::vector<param_spec> layout;
  std::vector<size_t> layout_index = stage_param_indices(cfg, stage);
  {
    auto whole = param_layout(cfg);
    for (size_t i : layout_index) layout.push_back(whole[i]);
  }
  int tp = 1, tp_rank = 0;
  if (tensor_parallel && tensor_parallel->world() > 1) {
    tp_ = tensor_parallel, tp = tp_->world(), tp_rank = tp_->rank();
    std::string err = tensor_parallel_error(cfg, tp);
    if (!err.empty()) throw std::invalid_argument("Invalid tensor parallel layout: " + err);
  }
  std::vector<param_shard> shards;
  int64_t total = 0;
  for (auto& s : layout) {
    shards.push_back(tensor_parallel_shard(cfg, s, tp, tp_rank));
    total += shape_numel(shard_shape(s, shards.back()));
  }
  num_params_ = total;
  param_arena_ = tensor({total}, mem_category::parameters);
  grad_arena_ = tensor::zeros({total}, mem_category::gradients);
  int64_t off = 0;
  for (size_t i = 0; i < layout.size(); ++i) {
    const param_spec& s = layout[i];
    const param_shard& sh = shards[i];
    shape_t local = shard_shape(s, sh);
    int64_t n = shape_numel(local);
    var v = make_var(param_arena_.slice(off, off + n).reshape(local), true);
    v->grad() = grad_arena_.slice(off, off + n).reshape(local);
    float* p = v->data.f32();
    uint64_t stream = seed * 0x9E3779B97F4A7C15ull + layout_index[i] + 1;
    switch (s.init) {
      case param_init::normal:
        if (sh.dim < 0) {
          fill_normal(p, n, s.init_std, stream);
        } else {
          // The whole parameter's draws, then this rank's slice: every tp gives the same model.
          std::vector<float> whole(size_t(shape_numel(s.shape)));
          fill_normal(whole.data(), int64_t(whole.size()), s.init_std, stream);
          int64_t rows = s.shape[0], cols = s.shape.size() > 1 ? s.shape[1] : 1;
          for (int64_t r = 0, k = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c)
              if ((sh.dim == 0 ? r : c) - sh.offset >= 0 && (sh.dim == 0 ? r : c) - sh.offset < sh.size) p[k++] = whole[size_t(r * cols + c)];
        }
        break;
      case param_init::ones: v->data.fill(1); break;
      case param_init::zeros: v->data.zero(); break;
    }
    index_[s.name] = params_.size();
    params_.push_back({s.name, v, s.decay, s.shape, sh, is_tied_copy(cfg, stage, s.name)});
    offsets_.push_back(size_t(off));
    off += n;
  }
}

void take_shard(const parameter& p, const float* whole, float* out) {
  int64_t n = p.v->data.numel();
  if (p.shard.dim < 0) {
    std::copy(whole, whole + n, out);
    return;
  }
  int64_t rows = p.global_shape[0], cols = p.global_shape.size() > 1 ? p.global_shape[1] : 1;  // a bias: one column
  if (p.shard.dim == 0) {
    std::copy(whole + p.shard.offset * cols, whole + (p.shard.offset + p.shard.size) * cols, out);
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    std::copy(whole + r * cols + p.shard.offset, whole + r * cols + p.shard.offset + p.shard.size, out + r * p.shard.size);
}

std::vector<int64_t> shard_offset(const parameter& p) {
  std::vector<int64_t> off(p.global_shape.size(), 0);
  if (p.shard.dim >= 0) off[size_t(p.shard.dim)] = p.shard.offset;
  return off;
}

void model::drop_grad_arena() {
  for (parameter& p : params_) p.v->grad() = tensor();
  grad_arena_ = tensor();
}

void model::drop_param_arena() {
  for (parameter& p : params_) p.v->data = p.v->data.shape_only();
  param_arena_ = tensor();
}

int model::tp_size() const { return tp_ ? tp_->world() : 1; }

size_t model::param_index(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    throw std::out_of_range(stage_.split() ? fmt::format("pipeline stage {} holds no parameter '{}'", stage_.stage, name)
                                           : fmt::format("model has no parameter '{}'", name));
  return it->second;
}

const var& model::param(const std::string& name) const { return params_[param_index(name)].v; }

var model::loss(tape& tp, const tensor& tokens, const tensor& targets, recompute_mode rc) const {
  if (stage_.split())
    throw std::logic_error("model::loss: this model is one pipeline stage; run its chunks with chunk_forward");
  return chunk_forward(tp, 0, nullptr, tokens, targets, rc);
}

var model::chunk_forward(tape& tp, int local, const var& hidden, const tensor& tokens, const tensor& targets,
                         recompute_mode rc) const {
  layer_span span = stage_chunk_span(stage_, cfg_.layers, local);
  if (span.embed || span.head) {
    const tensor& batch = span.embed ? tokens : targets;
    if (batch.rank() != 2 || (span.embed && span.head && targets.shape() != tokens.shape()))
      throw std::invalid_argument(fmt::format("Invalid batch: tokens {} and targets {} must both be (B, T)",
                                              shape_str(tokens.shape()), shape_str(targets.shape())));
    if (batch.dim(1) > cfg_.seq_len)
      throw std::invalid_argument(fmt::format("Invalid batch: T = {} exceeds seq_len ({})", batch.dim(1), cfg_.seq_len));
    if (sequence_parallel() && batch.dim(1) % tp_size())
      throw std::invalid_argument(fmt::format("Invalid batch: sequence parallel splits T = {} over tp = {}; use a "
                                              "sequence length that is a multiple of parallel.tp", batch.dim(1), tp_size()));
  }
  var input = span.embed ? make_var(tokens) : hidden;
  var x = cfg_.family == "gpt" ? gpt_span(tp, *this, input, span, rc) : llama_span(tp, *this, input, span, rc);  // (B, T, C)
  return span.head ? head_loss(tp, x, targets) : x;
}

shape_t model::hidden_shape(int64_t B, int64_t T) const {
  return {B, sequence_parallel() ? T / tp_size() : T, cfg_.dim};
}

var model::head_loss(tape& tp, const var& x, const tensor& targets) const {
  int64_t N = targets.numel();
  const std::string& embedding_name = cfg_.family == "gpt" ? "wte" : "tok_emb";
  const parameter& head = params_[param_index(cfg_.tied_embeddings ? embedding_name : "lm_head")];  // (V, C), or (V/tp, C)
  if (tp_) {
    var local_x = reshape(tp, column_parallel_input(tp, *this, x), {N, cfg_.dim});  // f, or the gather of the blocks
    var local_logits = linear(tp, *this, local_x, head.v);  // (N, V/tp)
    return vocab_parallel_cross_entropy(tp, *tp_, local_logits, make_var(targets.reshape({N})), head.shard.offset);
  }
  var logits = linear(tp, *this, gemm_input(tp, *this, reshape(tp, x, {N, cfg_.dim})), head.v);  // (N, V)
  return cross_entropy(tp, logits, make_var(targets.reshape({N})));
}

}  // namespace wb
