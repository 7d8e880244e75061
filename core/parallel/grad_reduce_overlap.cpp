// grad_reduce_overlap: the buckets (layers merged from the top down), the hooks that post them, and
// the jobs the comm thread runs.
#include "core/parallel/grad_reduce_overlap.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "core/parallel/data_parallel.hpp"
#include "core/parallel/sequence_parallel_grads.hpp"
#include "core/parallel/zero2.hpp"

namespace wb {

bool overlap_grad_reduce_applies(const model& m, const collective* dp, const collective* pipeline, bool dp_own_channel) {
  return dp && dp->world() > 1 && (!m.tensor_parallel() || dp_own_channel) && !(pipeline && pipeline->world() > 1) &&
         !m.stage().split();
}

grad_reduce_overlap::grad_reduce_overlap(model& m, collective& dp, int zero, size_t min_bucket_bytes)
    : model_(&m), dp_(&dp), zero_(zero) {
  if (zero != 0 && zero != 1)
    throw std::invalid_argument(fmt::format("grad_reduce_overlap: ZeRO stage {} (0 or 1 here; ZeRO-2 reduces its own buckets)", zero));
  // Each layer's range of the arena (its parameters follow each other: param_layout order).
  std::vector<chunk> layers;
  std::vector<std::vector<size_t>> layer_params;
  const float* arena = m.param_arena().f32();
  for (size_t i = 0; i < m.params().size(); ++i) {
    const parameter& p = m.params()[i];
    chunk at{size_t(p.v->data.f32() - arena), size_t(p.v->data.numel())};
    int l = param_layer(p.name);
    if (l < 0) {
      if (!outer_.empty() && outer_.back().begin + outer_.back().size == at.begin) {
        outer_.back().size += at.size;
        outer_params_.back().push_back(i);
      } else {
        outer_.push_back(at);
        outer_params_.push_back({i});
      }
      continue;
    }
    if (size_t(l) >= layers.size()) layers.resize(size_t(l) + 1, chunk{0, 0}), layer_params.resize(size_t(l) + 1);
    chunk& c = layers[size_t(l)];
    if (c.size == 0) c = at;
    else if (c.begin + c.size == at.begin) c.size += at.size;
    else throw std::logic_error(fmt::format("grad_reduce_overlap: parameter '{}' is not next to the rest of its layer", p.name));
    layer_params[size_t(l)].push_back(i);
  }
  // From the last layer down (backward's order), merging while a bucket is under the minimum and the
  // next layer lies just below it in the arena.
  for (int l = int(layers.size()) - 1; l >= 0; --l) {
    const chunk& c = layers[size_t(l)];
    if (c.size == 0) continue;
    const std::vector<size_t>& params = layer_params[size_t(l)];
    bool merge = !layer_buckets_.empty() && layer_buckets_.back().size * sizeof(float) < min_bucket_bytes &&
                 c.begin + c.size == layer_buckets_.back().begin;
    if (merge) {
      layer_buckets_.back().begin = c.begin, layer_buckets_.back().size += c.size;
      layer_bucket_params_.back().insert(layer_bucket_params_.back().end(), params.begin(), params.end());
      posted_after_.back() = l;
    } else {
      layer_buckets_.push_back(c);
      layer_bucket_params_.push_back(params);
      posted_after_.push_back(l);
    }
  }
  hooks_.finished = [this](int l) {
    for (size_t i = 0; i < posted_after_.size(); ++i)
      if (posted_after_[i] == l) post(layer_buckets_[i], layer_bucket_params_[i]);
  };
}

std::vector<chunk> grad_reduce_overlap::buckets() const {
  std::vector<chunk> out = layer_buckets_;
  out.insert(out.end(), outer_.begin(), outer_.end());
  return out;
}

void grad_reduce_overlap::post(chunk range, const std::vector<size_t>& params) {
  // Under sequence parallel this tp rank holds its part of the replicated gradients: summed over
  // the tp group here, on the main thread, so every tp rank reduces the same whole gradient.
  sequence_parallel_sum_grads(*model_, params);
  float* data = model_->grad_arena().f32() + range.begin;
  if (zero_ == 0) {
    comm_.post([this, data, range] { dp_->all_reduce_sum(data, range.size); });
  } else {
    std::vector<chunk> parts = shard_parts_of(range, model_->num_params(), dp_->world());
    comm_.post([this, data, parts] { reduce_scatter_parts(*dp_, data, parts); });
  }
}

void grad_reduce_overlap::end_backward() {
  for (size_t i = 0; i < outer_.size(); ++i) post(outer_[i], outer_params_[i]);
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
