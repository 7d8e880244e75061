// A collective over a subset of the ranks of another one (the tp group or the dp group of a rank,
// core/parallel/rank_layout.hpp), built only on the parent's point-to-point send/recv, so it works
// on every backend (local_collective between threads, fabric_collective between processes).
// Ranks inside the view are indices into `members`; every member must construct the view with the
// same members (in the same order) and the same tag, and make the same calls in the same order.
//
// Algorithms: ring reduce-scatter and ring all-gather over chunk_range chunks (all-reduce is the
// two back to back, as NCCL's ring: 2(m-1) steps of n/m elements); broadcast from the root to each
// member; barrier a one-element all-reduce. Within a step even positions send first and odd ones
// receive first, so a send that waits for its receiver (libfabric rendezvous) cannot deadlock the
// ring. Sums are therefore in ring order, not rank order: within fp32 rounding of other orders.
//
// Tags: the view sends everything with its one tag (messages of a pair arrive in order, and the
// calls are in the same order on all members). Two views that share a pair of ranks need
// different tags; the tp and dp groups of one layout share none, but give them distinct tags anyway.
#pragma once
#include <vector>

#include "core/parallel/collective.hpp"

namespace wb {

class sub_collective final : public collective {
 public:
  sub_collective(collective& parent, std::vector<int> members, uint32_t tag);

  int rank() const override { return index_; }
  int world() const override { return int(members_.size()); }
  const std::vector<int>& members() const { return members_; }

  void all_reduce_sum(float* data, size_t n) override;
  void reduce_scatter_sum(float* data, size_t n) override;
  void all_gather(float* data, size_t n) override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;
  // peer is an index into members; the view's tag is added to the caller's tag space, so tags
  // must be < 2^16 minus the view's tag.
  void send(const void* data, size_t bytes, int peer, uint32_t tag) override;
  void recv(void* data, size_t bytes, int peer, uint32_t tag) override;
  void send_recv(const std::vector<p2p_op>& ops) override;  // the parent's, with peers and tags mapped

 private:
  // One ring step: send `out` to the next member while receiving `in` from the previous one.
  void exchange(const float* out, size_t out_n, float* in, size_t in_n);

  collective& parent_;
  std::vector<int> members_;
  uint32_t tag_;
  int index_ = -1;
  std::vector<float> incoming_;
};

}  // namespace wb
