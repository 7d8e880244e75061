// ZeRO-2's buckets: which arena ranges they are, their life during backward, and the ring that
// reduce-scatters a bucket into the ranks' shards.
#include "core/parallel/zero2.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "core/parallel/param_buckets.hpp"
#include "core/parallel/sequence_parallel_grads.hpp"

namespace wb {

namespace {

// Tag of the bucket ring's messages (collective.hpp's user space; nothing else in a training step
// sends with it: train_run uses 0x7a31-0x7a33, pipeline_step its own).
constexpr uint32_t bucket_tag = 0x7a40;

}  // namespace

void reduce_scatter_parts(collective& c, float* data, const std::vector<chunk>& parts) {
  const int world = c.world(), me = c.rank();
  if (int(parts.size()) != world)
    throw std::invalid_argument(fmt::format("reduce_scatter_parts: {} parts for {} ranks", parts.size(), world));
  if (world == 1) return;
  size_t widest = 0;
  for (const chunk& p : parts) widest = std::max(widest, p.size);
  tensor incoming({int64_t(std::max<size_t>(widest, 1))}, mem_category::temporaries);
  const int next = (me + 1) % world, prev = (me + world - 1) % world;
  // Step k: send part (me - k - 1), receive part (me - k - 2) from prev and add it in. Part p starts
  // at rank p + 1 and ends, after world - 1 hops, at rank p with every rank's contribution.
  for (int k = 0; k + 1 < world; ++k) {
    const chunk& out = parts[size_t((me - k - 1 + 2 * world) % world)];
    const chunk& in = parts[size_t((me - k - 2 + 2 * world) % world)];
    c.send_recv({{true, data + out.begin, out.size * sizeof(float), next, bucket_tag},
                 {false, incoming.f32(), in.size * sizeof(float), prev, bucket_tag}});
    float* d = data + in.begin;
    const float* g = incoming.f32();
    for (size_t i = 0; i < in.size; ++i) d[i] += g[i];
  }
}

zero2_gradients::zero2_gradients(model& m, collective& dp, comm_thread* overlap)
    : model_(&m), dp_(&dp), overlap_(overlap), shard_(zero1_shard(dp, m.num_params())),
      shard_grads_(tensor::zeros({int64_t(shard_.size)}, mem_category::gradients)) {
  if (m.stage().split())
    throw std::invalid_argument("ZeRO-2 with pipeline parallel is not implemented; use parallel.zero = 1");
  param_buckets b = param_buckets_of(m, "ZeRO-2");
  for (param_bucket& l : b.layers) layers_.push_back({std::move(l), tensor()});
  for (param_bucket& o : b.outer) outer_.push_back({std::move(o), tensor()});
  m.drop_grad_arena();
  hooks_.entered = [this](int l) { open(layers_.at(size_t(l))); };
  hooks_.finished = [this](int l) { close(layers_.at(size_t(l))); };
}

void zero2_gradients::zero() { shard_grads_.zero(); }

void zero2_gradients::open(bucket& b) {
  // Overlapped: at most one bucket still reducing beside the open ones, so gradient memory stays
  // that of the synchronous path plus one bucket however far the comm thread falls behind (the
  // queue may also hold ZeRO-3's gathers, which hold no gradient).
  if (overlap_) overlap_->wait_for(reduce_before_last_);
  b.grads = tensor::zeros({int64_t(b.group.range.size)}, mem_category::gradients);
  for (size_t i : b.group.params) {
    const parameter& p = model_->params()[i];
    size_t at = model_->param_offset(i) - b.group.range.begin;
    p.v->grad() = b.grads.slice(int64_t(at), int64_t(at + size_t(p.v->data.numel()))).reshape(p.v->data.shape());
  }
}

void zero2_gradients::close(bucket& b) {
  // Under sequence parallel the bucket's replicated gradients are this tp rank's part: summed over
  // the tp group first, so every tp rank reduces the same whole gradient over its replicas.
  sequence_parallel_sum_grads(*model_, b.group.params);
  std::vector<chunk> parts = shard_parts_of(b.group.range, model_->num_params(), dp_->world());
  const chunk mine = parts[size_t(dp_->rank())];
  float* into = shard_grads_.f32() + (b.group.range.begin + mine.begin - shard_.begin);
  auto reduce = [dp = dp_, grads = b.grads, parts = std::move(parts), mine, into] {
    float* g = grads.f32();
    reduce_scatter_parts(*dp, g, parts);
    for (size_t i = 0; i < mine.size; ++i) into[i] += g[mine.begin + i];
  };
  if (overlap_) {  // the job keeps the bucket's buffer until it ran
    reduce_before_last_ = last_reduce_;
    last_reduce_ = overlap_->post(std::move(reduce));
  } else {
    reduce();
  }
  for (size_t i : b.group.params) model_->params()[i].v->grad() = tensor();
  b.grads = tensor();
}

void zero2_gradients::begin_backward() {
  for (bucket& b : outer_) open(b);
}

void zero2_gradients::end_backward() {
  for (bucket& b : outer_) close(b);
  // Every layer was entered and finished: a gradient written after its bucket closed would have
  // been allocated by the tape and lost.
  for (const parameter& p : model_->params())
    if (p.v->grad().defined())
      throw std::logic_error(fmt::format("ZeRO-2: parameter '{}' got a gradient outside its layer's bucket", p.name));
}

zero1_gradients zero2_gradients::finish(double local_loss, int threads, const std::vector<chunk>& uncounted) {
  if (overlap_) overlap_->wait();
  float scale = 1.0f / float(dp_->world());
  float* g = shard_grads_.f32();
  for (size_t i = 0; i < shard_.size; ++i) g[i] *= scale;
  return zero_shard_stats(*dp_, shard_grads_, shard_, local_loss, threads, uncounted);
}

}  // namespace wb
