// ZeRO-3's gathered buffers: which arena ranges they are, when they hold the parameters, and the
// ring that gathers a range from the ranks' shards.
#include "core/parallel/zero3.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "core/parallel/param_buckets.hpp"

namespace wb {

namespace {

// Tag of the gather ring's messages (collective.hpp's user space; nothing else in a training step
// sends with it: train_run uses 0x7a31-0x7a33, zero2 0x7a40, pipeline_step its own).
constexpr uint32_t gather_tag = 0x7a50;

}  // namespace

void all_gather_parts(collective& c, float* data, const std::vector<chunk>& parts) {
  const int world = c.world(), me = c.rank();
  if (int(parts.size()) != world)
    throw std::invalid_argument(fmt::format("all_gather_parts: {} parts for {} ranks", parts.size(), world));
  const int next = (me + 1) % world, prev = (me + world - 1) % world;
  // Step k: pass on part (me - k), which arrived in the step before (or is this rank's own), and
  // receive part (me - k - 1) from prev. After world - 1 steps every part has visited every rank.
  for (int k = 0; k + 1 < world; ++k) {
    const chunk& out = parts[size_t((me - k + 2 * world) % world)];
    const chunk& in = parts[size_t((me - k - 1 + 2 * world) % world)];
    c.send_recv({{true, data + out.begin, out.size * sizeof(float), next, gather_tag},
                 {false, data + in.begin, in.size * sizeof(float), prev, gather_tag}});
  }
}

zero3_parameters::zero3_parameters(model& m, collective& dp, const layer_hooks& inner, comm_thread* prefetch)
    : model_(&m), dp_(&dp), prefetch_(prefetch), shard_(zero1_shard(dp, m.num_params())),
      shard_params_({int64_t(shard_.size)}, mem_category::parameters) {
  if (m.stage().split())
    throw std::invalid_argument("ZeRO-3 with pipeline parallel is not implemented; use parallel.zero = 1");
  const float* arena = m.param_arena().f32();
  std::memcpy(shard_params_.f32(), arena + shard_.begin, shard_.size * sizeof(float));
  const param_buckets groups = param_buckets_of(m, "ZeRO-3");
  for (const param_bucket& g : groups.layers) layers_.push_back({g.range, tensor()});
  for (const param_bucket& g : groups.outer) outer_.push_back({g.range, tensor()});
  for (bucket& b : outer_) {  // gathered for the run: filled from the arena while it is still here
    b.gathered = tensor({int64_t(b.range.size)}, mem_category::parameters);
    std::memcpy(b.gathered.f32(), arena + b.range.begin, b.range.size * sizeof(float));
  }
  for (bucket& b : layers_) {
    b.gathered = tensor({int64_t(b.range.size)}, mem_category::parameters);
    b.gathered.free_storage();
  }
  m.drop_param_arena();
  // Each parameter now views its bucket's buffer.
  auto view = [&m](const param_bucket& g, const bucket& b) {
    for (size_t i : g.params) {
      size_t at = m.param_offset(i) - b.range.begin, n = size_t(m.params()[i].v->data.numel());
      m.params()[i].v->data = b.gathered.slice(int64_t(at), int64_t(at + n)).reshape(m.params()[i].v->data.shape());
    }
  };
  for (size_t j = 0; j < layers_.size(); ++j) view(groups.layers[j], layers_[j]);
  for (size_t j = 0; j < outer_.size(); ++j) view(groups.outer[j], outer_[j]);
  pending_.assign(layers_.size(), 0);
  const int last = int(layers_.size()) - 1;
  hooks_.before_forward = [this, last](int l) {
    request(l);
    await(l);
    if (prefetch_ && l < last) request(l + 1);
  };
  hooks_.after_forward = [this](int l) { release(layers_.at(size_t(l))); };
  hooks_.entered = [this, &inner](int l) {
    request(l);
    await(l);
    if (prefetch_ && l > 0) request(l - 1);
    if (inner.entered) inner.entered(l);
  };
  hooks_.finished = [this, &inner](int l) {
    if (inner.finished) inner.finished(l);
    release(layers_.at(size_t(l)));
  };
}

void zero3_parameters::request(int l) {
  const bucket& b = layers_.at(size_t(l));
  if (pending_[size_t(l)]) return;
  if (!prefetch_) return gather(b);
  b.gathered.restore_storage();  // here: the memory accounting belongs to the training thread
  pending_[size_t(l)] = prefetch_->post([this, &b] { fill(b); });
}

void zero3_parameters::await(int l) {
  if (uint64_t ticket = std::exchange(pending_[size_t(l)], 0)) prefetch_->wait_for(ticket);
}

void zero3_parameters::abandon_gathers() {
  std::fill(pending_.begin(), pending_.end(), 0);
  for (const bucket& b : layers_) release(b);
}

void zero3_parameters::gather(const bucket& b) const {
  b.gathered.restore_storage();
  fill(b);
}

void zero3_parameters::fill(const bucket& b) const {
  std::vector<chunk> parts = shard_parts_of(b.range, model_->num_params(), dp_->world());
  const chunk& mine = parts[size_t(dp_->rank())];
  float* d = b.gathered.f32();
  std::memcpy(d + mine.begin, shard_params_.f32() + (b.range.begin + mine.begin - shard_.begin), mine.size * sizeof(float));
  all_gather_parts(*dp_, d, parts);
}

void zero3_parameters::gather_outer() {
  for (const bucket& b : outer_) gather(b);
}

void zero3_parameters::gather_all(float* whole) const {
  std::memcpy(whole + shard_.begin, shard_params_.f32(), shard_.size * sizeof(float));
  dp_->all_gather(whole, size_t(model_->num_params()));
}

void zero3_parameters::load(const float* whole) {
  std::memcpy(shard_params_.f32(), whole + shard_.begin, shard_.size * sizeof(float));
  for (const bucket& b : outer_) std::memcpy(b.gathered.f32(), whole + b.range.begin, b.range.size * sizeof(float));
}

}  // namespace wb
