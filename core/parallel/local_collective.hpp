// The collective role between threads of one process: a local_collective_group of N ranks hands
// out N members, each used by one thread. For unit tests of code that uses collectives (the
// trainer's gradient all-reduce) without processes or a fabric. Sums add ranks in rank order, so
// results are deterministic. Every wait has a deadline (default 60 s) so a test with a missing rank
// fails with that rank's name instead of hanging.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "core/parallel/collective.hpp"

namespace wb {

class local_collective_group {
 public:
  explicit local_collective_group(int world, std::chrono::milliseconds deadline = std::chrono::seconds(60));
  ~local_collective_group();
  int world() const { return world_; }
  collective& member(int rank);  // the collective that rank's thread uses

 private:
  class member_impl;
  friend class member_impl;
  // Waits until all ranks have arrived with their pointer, then returns everyone's pointers.
  const std::vector<void*>& rendezvous(int rank, void* ptr);
  void post(int from, int to, uint32_t tag, const void* data, size_t bytes);
  void take(int from, int to, uint32_t tag, void* data, size_t bytes);

  int world_;
  std::chrono::milliseconds deadline_;
  std::vector<std::unique_ptr<member_impl>> members_;
  std::mutex mu_;
  std::condition_variable cv_;
  long long generation_ = 0;
  int arrived_ = 0;
  std::vector<void*> staging_, published_;
  std::vector<bool> present_;
  std::map<std::tuple<int, int, uint32_t>, std::deque<std::vector<char>>> mailbox_;
};

}  // namespace wb
