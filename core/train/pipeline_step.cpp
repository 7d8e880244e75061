// The pipeline_work that runs a model stage, and the post-backward steps; see the header.
#include "core/train/pipeline_step.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "core/parallel/pipeline_schedule.hpp"
#include "core/parallel/tensor_parallel_norm.hpp"
#include "core/tensor/tape.hpp"

namespace wb {
namespace {

class stage_work final : public pipeline_work {
 public:
  stage_work(const model& m, compute_backend& backend, const tensor& tokens, const tensor& targets, int microbatch,
             recompute_mode rc, float seed, bool training, const layer_hooks* last_hooks = nullptr, int last_mb = -1)
      : m_(m), backend_(backend), tokens_(tokens), targets_(targets), microbatch_(microbatch), rc_(rc), seed_(seed),
        training_(training), last_hooks_(last_hooks), last_mb_(last_mb) {}

  tensor forward(int chunk, int mb, const tensor& input) override {
    int64_t b = int64_t(mb) * microbatch_, e = b + microbatch_;
    in_flight f;
    f.record = std::make_unique<tape>(backend_, training_);
    if (last_hooks_ && mb == last_mb_) f.record->set_layer_hooks(last_hooks_);  // its chunk's last backward
    if (input.defined()) f.input = make_var(input, training_);
    f.output = m_.chunk_forward(*f.record, chunk, f.input, tokens_.slice(b, e), targets_.slice(b, e), rc_);
    layer_span span = stage_chunk_span(m_.stage(), m_.config().layers, chunk);
    if (span.head) {
      loss_sum += f.output->data.f32()[0];
    } else if (f.output->data.type() != dtype::f32) {
      throw std::logic_error("pipeline: a chunk's output activations must be f32");
    }
    tensor out = span.head ? tensor() : f.output->data;
    if (training_) live_[{chunk, mb}] = std::move(f);
    return out;
  }

  tensor backward(int chunk, int mb, const tensor& output_grad) override {
    auto it = live_.find({chunk, mb});
    if (it == live_.end()) throw std::logic_error(fmt::format("pipeline: backward of chunk {} microbatch {} before its forward", chunk, mb));
    in_flight f = std::move(it->second);
    live_.erase(it);
    if (output_grad.defined()) f.record->backward(f.output, output_grad);
    else f.record->backward(f.output, seed_);
    return f.input ? f.input->grad() : tensor();
  }

  tensor receive_buffer() override {
    return tensor(m_.hidden_shape(microbatch_, tokens_.dim(1)), mem_category::activations);
  }

  double loss_sum = 0;

 private:
  struct in_flight {
    std::unique_ptr<wb::tape> record;
    var input, output;
  };
  const model& m_;
  compute_backend& backend_;
  const tensor &tokens_, &targets_;
  int microbatch_;
  recompute_mode rc_;
  float seed_;
  bool training_;
  const layer_hooks* last_hooks_;  // set on microbatch last_mb_'s tapes
  int last_mb_;
  std::map<std::pair<int, int>, in_flight> live_;
};

int microbatches_of(const tensor& tokens, int microbatch) {
  if (microbatch < 1 || tokens.dim(0) % microbatch)
    throw std::invalid_argument(fmt::format("Invalid batch: {} rows is not a multiple of microbatch ({})", tokens.dim(0), microbatch));
  return int(tokens.dim(0) / microbatch);
}

// The last stage's sum, on every stage.
double from_last_stage(collective& pipeline, double sum) {
  pipeline.broadcast(&sum, sizeof sum, pipeline.world() - 1);
  return sum;
}

}  // namespace

double pipeline_forward_backward(const model& m, compute_backend& backend, collective& pipeline, const tensor& tokens,
                                 const tensor& targets, int microbatch, recompute_mode rc, float seed,
                                 const layer_hooks* last_microbatch_hooks) {
  const int microbatches = microbatches_of(tokens, microbatch);
  stage_work w(m, backend, tokens, targets, microbatch, rc, seed, true, last_microbatch_hooks, microbatches - 1);
  run_pipeline_step(pipeline, m.stage(), microbatches, w);
  return from_last_stage(pipeline, w.loss_sum);
}

double pipeline_forward_loss(const model& m, compute_backend& backend, collective& pipeline, const tensor& tokens,
                             const tensor& targets, int microbatch) {
  stage_work w(m, backend, tokens, targets, microbatch, recompute_mode::none, 1.0f, false);
  run_pipeline_forward(pipeline, m.stage(), microbatches_of(tokens, microbatch), w);
  return from_last_stage(pipeline, w.loss_sum);
}

namespace {

// The embedding a tied output layer reads, on the first stage, or its copy on the last; null elsewhere.
const parameter* tied_embedding(const model& m) {
  const model_config& c = m.config();
  const pipeline_stage& st = m.stage();
  if (!c.tied_embeddings || st.stages == 1 || !(st.holds_embedding() || st.holds_head())) return nullptr;
  return &m.params()[m.param_index(c.family == "gpt" ? "wte" : "tok_emb")];
}

}  // namespace

void pipeline_sum_tied_gradients(const model& m, collective& pipeline) {
  const parameter* p = tied_embedding(m);
  if (!p) return;
  const tensor& g = p->v->grad();
  int peer = m.stage().holds_embedding() ? m.stage().stages - 1 : 0;
  tensor other(g.shape(), mem_category::temporaries);
  // Both sides compute mine + other's: float addition commutes, so the copies stay bit-identical.
  pipeline.send_recv({{true, g.raw(), g.nbytes(), peer, tied_gradient_tag},
                      {false, other.raw(), other.nbytes(), peer, tied_gradient_tag}});
  float* a = g.f32();
  const float* b = other.f32();
  for (int64_t i = 0, n = g.numel(); i < n; ++i) a[i] += b[i];
}

grad_stats pipeline_grad_norm(const model& m, collective& pipeline, const grad_stats& local) {
  double squares = local.norm * local.norm;
  for (const parameter& p : m.params()) {
    if (!p.tied_copy) continue;  // the first stage counts the embedding's gradient
    const float* g = p.v->grad().f32();
    for (int64_t i = 0, n = p.v->grad().numel(); i < n; ++i) squares -= double(g[i]) * double(g[i]);
  }
  return pipeline_sum_norms(pipeline, tensor_parallel_grad_norm(m, {std::sqrt(std::max(0.0, squares)), local.finite}));
}

grad_stats pipeline_sum_norms(collective& pipeline, const grad_stats& stage) {
  // [squares of this stage, not finite], summed over the stages
  float sums[2] = {float(stage.norm * stage.norm), stage.finite ? 0.0f : 1.0f};
  pipeline.all_reduce_sum(sums, 2);
  return {std::sqrt(std::max(0.0, double(sums[0]))), sums[1] == 0.0f && std::isfinite(sums[0])};
}

std::vector<chunk> tied_copy_ranges(const model& m) {
  std::vector<chunk> out;
  const float* arena = m.param_arena().f32();
  for (const parameter& p : m.params())
    if (p.tied_copy)
      out.push_back({size_t(static_cast<const float*>(p.v->data.raw()) - arena), size_t(p.v->data.numel())});
  return out;
}

}  // namespace wb
