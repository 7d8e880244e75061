// local_collective_group: a generation barrier in which every rank publishes its buffer pointer;
// each rank then reads what it needs from the others' buffers, and a second barrier keeps the
// buffers alive until everyone has read them.
#include "core/parallel/local_collective.hpp"

#include <cstring>

#include <fmt/format.h>

namespace wb {

class local_collective_group::member_impl final : public collective {
 public:
  member_impl(local_collective_group& g, int rank) : g_(g), rank_(rank) {}
  int rank() const override { return rank_; }
  int world() const override { return g_.world_; }

  void all_reduce_sum(float* data, size_t n) override {
    const auto& ptrs = g_.rendezvous(rank_, data);
    std::vector<float> sum(n, 0.0f);
    for (void* p : ptrs)
      for (size_t i = 0; i < n; ++i) sum[i] += static_cast<const float*>(p)[i];
    g_.rendezvous(rank_, data);
    std::memcpy(data, sum.data(), n * sizeof(float));
  }
  void reduce_scatter_sum(float* data, size_t n) override {
    chunk c = chunk_range(n, world(), rank_);
    const auto& ptrs = g_.rendezvous(rank_, data);
    std::vector<float> sum(c.size, 0.0f);
    for (void* p : ptrs)
      for (size_t i = 0; i < c.size; ++i) sum[i] += static_cast<const float*>(p)[c.begin + i];
    g_.rendezvous(rank_, data);
    std::memcpy(data + c.begin, sum.data(), c.size * sizeof(float));
  }
  void all_gather(float* data, size_t n) override {
    const auto& ptrs = g_.rendezvous(rank_, data);
    for (int r = 0; r < world(); ++r) {
      chunk c = chunk_range(n, world(), r);
      if (r != rank_) std::memcpy(data + c.begin, static_cast<const float*>(ptrs[size_t(r)]) + c.begin, c.size * sizeof(float));
    }
    g_.rendezvous(rank_, data);
  }
  void broadcast(void* data, size_t bytes, int root) override {
    const auto& ptrs = g_.rendezvous(rank_, data);
    if (rank_ != root) std::memcpy(data, ptrs.at(size_t(root)), bytes);
    g_.rendezvous(rank_, data);
  }
  void barrier() override { g_.rendezvous(rank_, nullptr); }
  void send(const void* data, size_t bytes, int peer, uint32_t tag) override { g_.post(rank_, peer, tag, data, bytes); }
  void recv(void* data, size_t bytes, int peer, uint32_t tag) override { g_.take(peer, rank_, tag, data, bytes); }

 private:
  local_collective_group& g_;
  int rank_;
};

local_collective_group::local_collective_group(int world, std::chrono::milliseconds deadline)
    : world_(world), deadline_(deadline), staging_(size_t(world)), published_(size_t(world)), present_(size_t(world)) {
  if (world < 1) throw std::invalid_argument(fmt::format("local_collective_group: world must be >= 1, got {}", world));
  for (int r = 0; r < world; ++r) members_.push_back(std::make_unique<member_impl>(*this, r));
}

local_collective_group::~local_collective_group() = default;

collective& local_collective_group::member(int rank) { return *members_.at(size_t(rank)); }

const std::vector<void*>& local_collective_group::rendezvous(int rank, void* ptr) {
  std::unique_lock lk(mu_);
  long long gen = generation_;
  staging_[size_t(rank)] = ptr;
  present_[size_t(rank)] = true;
  if (++arrived_ == world_) {
    published_ = staging_;
    arrived_ = 0;
    present_.assign(size_t(world_), false);
    ++generation_;
    cv_.notify_all();
    return published_;
  }
  if (!cv_.wait_for(lk, deadline_, [&] { return generation_ != gen; })) {
    int missing = 0;
    while (missing < world_ && present_[size_t(missing)]) ++missing;
    throw collective_error(fmt::format("rank {} did not reach the collective within {} ms (waiting rank {})", missing,
                                       deadline_.count(), rank),
                           missing);
  }
  // published_ stays valid until the next generation completes, which needs this rank again.
  return published_;
}

void local_collective_group::post(int from, int to, uint32_t tag, const void* data, size_t bytes) {
  if (to < 0 || to >= world_) throw collective_error(fmt::format("send to rank {}: no such rank (world {})", to, world_), to);
  std::lock_guard lk(mu_);
  auto p = static_cast<const char*>(data);
  mailbox_[{from, to, tag}].emplace_back(p, p + bytes);
  cv_.notify_all();
}

void local_collective_group::take(int from, int to, uint32_t tag, void* data, size_t bytes) {
  if (from < 0 || from >= world_) throw collective_error(fmt::format("recv from rank {}: no such rank (world {})", from, world_), from);
  std::unique_lock lk(mu_);
  auto& q = mailbox_[{from, to, tag}];
  if (!cv_.wait_for(lk, deadline_, [&] { return !q.empty(); }))
    throw collective_error(fmt::format("rank {} sent nothing with tag {} to rank {} within {} ms", from, tag, to, deadline_.count()), from);
  if (q.front().size() != bytes)
    throw collective_error(fmt::format("rank {} sent {} bytes with tag {}, rank {} expected {}", from, q.front().size(), tag, to, bytes), from);
  std::memcpy(data, q.front().data(), bytes);
  q.pop_front();
}

}  // namespace wb
