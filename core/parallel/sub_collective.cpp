// sub_collective: ring algorithms over the parent's tagged send/recv.
#include "core/parallel/sub_collective.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include <fmt/format.h>

namespace wb {

sub_collective::sub_collective(collective& parent, std::vector<int> members, uint32_t tag)
    : parent_(parent), members_(std::move(members)), tag_(tag) {
  if (members_.empty()) throw std::invalid_argument("sub_collective: a group needs at least one member");
  std::set<int> seen;
  for (size_t i = 0; i < members_.size(); ++i) {
    int m = members_[i];
    if (m < 0 || m >= parent.world())
      throw std::invalid_argument(fmt::format("sub_collective: member {} is not a rank of the parent group ({} ranks)", m, parent.world()));
    if (!seen.insert(m).second) throw std::invalid_argument(fmt::format("sub_collective: rank {} is listed twice", m));
    if (m == parent.rank()) index_ = int(i);
  }
  if (index_ < 0)
    throw std::invalid_argument(fmt::format("sub_collective: rank {} builds a view of a group it is not in", parent.rank()));
}

void sub_collective::exchange(const float* out, size_t out_n, float* in, size_t in_n) {
  int m = world();
  int next = members_[size_t((index_ + 1) % m)], prev = members_[size_t((index_ + m - 1) % m)];
  if (index_ % 2 == 0) {
    parent_.send(out, out_n * sizeof(float), next, tag_);
    parent_.recv(in, in_n * sizeof(float), prev, tag_);
  } else {
    parent_.recv(in, in_n * sizeof(float), prev, tag_);
    parent_.send(out, out_n * sizeof(float), next, tag_);
  }
}

void sub_collective::reduce_scatter_sum(float* data, size_t n) {
  int m = world();
  if (m == 1) return;
  // Step s: send chunk (index - s - 1) mod m, receive chunk (index - s - 2) mod m and add it. After
  // m-1 steps this member's own chunk holds the full sum.
  for (int s = 0; s < m - 1; ++s) {
    chunk out = chunk_range(n, m, ((index_ - s - 1) % m + m) % m), in = chunk_range(n, m, ((index_ - s - 2) % m + m) % m);
    incoming_.resize(in.size);
    exchange(data + out.begin, out.size, incoming_.data(), in.size);
    for (size_t i = 0; i < in.size; ++i) data[in.begin + i] += incoming_[i];
  }
}

void sub_collective::all_gather(float* data, size_t n) {
  int m = world();
  if (m == 1) return;
  // Step s: pass on chunk (index - s) mod m, receive chunk (index - s - 1) mod m in place.
  for (int s = 0; s < m - 1; ++s) {
    chunk out = chunk_range(n, m, ((index_ - s) % m + m) % m), in = chunk_range(n, m, ((index_ - s - 1) % m + m) % m);
    exchange(data + out.begin, out.size, data + in.begin, in.size);
  }
}

void sub_collective::all_reduce_sum(float* data, size_t n) {
  reduce_scatter_sum(data, n);
  all_gather(data, n);
}

void sub_collective::broadcast(void* data, size_t bytes, int root) {
  if (root < 0 || root >= world())
    throw collective_error(fmt::format("broadcast: root {} is not a member index (group of {})", root, world()), -1);
  if (index_ == root) {
    for (int i = 0; i < world(); ++i)
      if (i != root) parent_.send(data, bytes, members_[size_t(i)], tag_);
  } else {
    parent_.recv(data, bytes, members_[size_t(root)], tag_);
  }
}

void sub_collective::barrier() {
  float one = 1;
  all_reduce_sum(&one, 1);
}

void sub_collective::send(const void* data, size_t bytes, int peer, uint32_t tag) {
  parent_.send(data, bytes, members_.at(size_t(peer)), tag_ + 1 + tag);
}

void sub_collective::recv(void* data, size_t bytes, int peer, uint32_t tag) {
  parent_.recv(data, bytes, members_.at(size_t(peer)), tag_ + 1 + tag);
}

void sub_collective::send_recv(const std::vector<p2p_op>& ops) {
  std::vector<p2p_op> mapped = ops;
  for (auto& o : mapped) o.peer = members_.at(size_t(o.peer)), o.tag += tag_ + 1;
  parent_.send_recv(mapped);
}

}  // namespace wb
