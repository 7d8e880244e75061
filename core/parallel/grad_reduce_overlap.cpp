// grad_reduce_overlap: the buckets (layers merged from the top down), the hooks that post them, and
// the jobs the comm thread runs.
#include "core/parallel/grad_reduce_overlap.hpp"

#include <utility>
#include <stdexcept>

#include <fmt/format.h>

#include "core/parallel/data_parallel.hpp"
#include "core/parallel/param_buckets.hpp"
#include "core/parallel/sequence_parallel_grads.hpp"
#include "core/parallel/zero2.hpp"

namespace wb {

bool overlap_grad_reduce_applies(const model& m, const collective* dp, const collective* pipeline, bool dp_own_channel) {
  const bool pipelined = (pipeline && pipeline->world() > 1) || m.stage().split();
  return dp && dp->world() > 1 && (dp_own_channel || (!m.tensor_parallel() && !pipelined));
}

grad_reduce_overlap::grad_reduce_overlap(model& m, collective& dp, int zero, size_t min_bucket_bytes)
    : model_(&m), dp_(&dp), zero_(zero) {
  if (zero != 0 && zero != 1)
    throw std::invalid_argument(fmt::format("grad_reduce_overlap: ZeRO stage {} (0 or 1 here; ZeRO-2 reduces its own buckets)", zero));
  param_buckets groups = param_buckets_of(m, "grad_reduce_overlap");
  // From the last layer down (backward's order), merging a layer into the bucket above it while that
  // bucket is under the minimum, the two layers are consecutive (a pipeline stage's chunks hold runs
  // of layers, each run finished by its own last backward) and the layer lies just below it in the
  // arena.
  for (int l = int(groups.layers.size()) - 1; l >= 0; --l) {
    param_bucket& g = groups.layers[size_t(l)];
    if (g.params.empty()) continue;  // another pipeline stage's layer
    bool merge = !layer_buckets_.empty() && layer_buckets_.back().range.size * sizeof(float) < min_bucket_bytes &&
                 posted_after_.back() == l + 1 && g.range.begin + g.range.size == layer_buckets_.back().range.begin;
    if (merge) {
      param_bucket& b = layer_buckets_.back();
      b.range.begin = g.range.begin, b.range.size += g.range.size;
      b.params.insert(b.params.end(), g.params.begin(), g.params.end());
      posted_after_.back() = l;
    } else {
      layer_buckets_.push_back(std::move(g));
      posted_after_.push_back(l);
    }
  }
  // The head's buckets lie after every layer in the arena (final norm, an untied output layer;
  // param_layout order). Their gradients are final once backward enters the top layer, so they go
  // then, ahead of the layers'. The rest (the embedding, and with it a tied output layer, written
  // again by the lookup) go after backward.
  const size_t layers_end = layer_buckets_.empty() ? 0 : layer_buckets_.front().range.begin + layer_buckets_.front().range.size;
  for (param_bucket& b : groups.outer) {
    bool after_layers = !layer_buckets_.empty() && b.range.begin >= layers_end;
    (after_layers ? head_ : outer_).push_back(std::move(b));
  }
  const int top = layer_buckets_.empty() ? -1 : int(groups.layers.size()) - 1;
  hooks_.entered = [this, top](int l) {
    if (l == top)
      for (const param_bucket& b : head_) post(b);
  };
  hooks_.finished = [this](int l) {
    for (size_t i = 0; i < posted_after_.size(); ++i)
      if (posted_after_[i] == l) post(layer_buckets_[i]);
  };
}

std::vector<chunk> grad_reduce_overlap::buckets() const {
  std::vector<chunk> out;
  for (const param_bucket& b : head_) out.push_back(b.range);
  for (const param_bucket& b : layer_buckets_) out.push_back(b.range);
  for (const param_bucket& b : outer_) out.push_back(b.range);
  return out;
}

void grad_reduce_overlap::post(const param_bucket& b) {
  // Under sequence parallel this tp rank holds its part of the replicated gradients: summed over
  // the tp group here, on the main thread, so every tp rank reduces the same whole gradient.
  sequence_parallel_sum_grads(*model_, b.params);
  const chunk range = b.range;
  float* data = model_->grad_arena().f32() + range.begin;
  if (zero_ == 0) {
    comm_.post([this, data, range] { dp_->all_reduce_sum(data, range.size); });
  } else {
    std::vector<chunk> parts = shard_parts_of(range, model_->num_params(), dp_->world());
    comm_.post([this, data, parts] { reduce_scatter_parts(*dp_, data, parts); });
  }
}

void grad_reduce_overlap::end_backward() {
  for (const param_bucket& b : outer_) post(b);
}

double grad_reduce_overlap::finish_all_reduce(double local_loss) {
  comm_.wait();
  return average_summed_gradients(*dp_, model_->grad_arena(), local_loss);
}

zero1_gradients grad_reduce_overlap::finish_reduce_scatter(double local_loss, int threads, const std::vector<chunk>& uncounted) {
  comm_.wait();
  return zero1_average_shard(*dp_, model_->grad_arena(), local_loss, threads, uncounted);
}

}  // namespace wb
