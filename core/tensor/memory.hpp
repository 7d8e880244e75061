// Memory accounting by category. Every tensor buffer is allocated here (64-byte aligned; from 2 MiB
// up on a huge-page boundary with transparent huge pages asked for, memory.cpp) and
// charged to one category, so live and peak bytes are the real allocations a planner's prediction
// is compared with. Charged bytes are the requested sizes; the alignment tail (< 64 B a buffer)
// is not charged. One process-wide accountant, safe to use from several threads.
// Freed buffers go to a cache of blocks by size and are handed out again (a training step asks
// for the same sizes every step), so fresh pages are faulted in the first step only; cached
// blocks are not charged (charged bytes stay what is live). The cache holds at most the highest
// total the accountant has seen: a step's buffers are not all live at once (backward's gradients
// replace activations of other sizes), so a cache bounded by peak minus live kept refaulting
// ~8k pages a step of the tiny bench config; at this bound none (perf stat -e page-faults,
// 2 vs 8 steps, 2026-11-23). Process memory for tensors stays under twice the accounted peak.
// Tests that run the ranks of a job as threads of one process give each rank its own accountant
// (memory_scope), as each rank process has one, so each rank's peak can be read apart.
#pragma once
#include <array>
#include <cstddef>
#include <memory>
#include <mutex>

namespace wb {

enum class mem_category : uint8_t { parameters, gradients, optimizer_state, activations, temporaries };
constexpr int mem_category_count = 5;
const char* mem_category_name(mem_category c);

struct mem_stats {
  size_t live = 0, peak = 0;
};

class memory_accountant {
 public:
  void charge(mem_category c, size_t bytes);
  void release(mem_category c, size_t bytes);
  mem_stats category(mem_category c) const;
  mem_stats total() const;
  // Peaks restart from the live bytes: call before the phase whose peak you want to measure.
  void reset_peaks();
  // The highest total since the process started (reset_peaks leaves it).
  size_t lifetime_peak() const;

 private:
  mutable std::mutex mutex_;
  std::array<mem_stats, mem_category_count> by_category_{};
  mem_stats total_{};
  size_t lifetime_peak_ = 0;
};

// The accountant buffers allocated on this thread are charged to: the process-wide one, or the
// innermost live memory_scope's.
memory_accountant& memory();

// While it lives, buffers allocated on the constructing thread are charged to `a` (and released to
// it on whichever thread they are freed). For thread-rank tests; `a` must outlive those buffers.
class memory_scope {
 public:
  explicit memory_scope(memory_accountant& a);
  ~memory_scope();
  memory_scope(const memory_scope&) = delete;
  memory_scope& operator=(const memory_scope&) = delete;

 private:
  memory_accountant* previous_;
};

// Bytes of freed buffers kept for reuse (not charged to any category), and emptying the cache.
size_t buffer_cache_bytes();
void buffer_cache_release();

// One aligned allocation, released (and uncharged) when the last tensor viewing it goes away.
struct buffer {
  void* data = nullptr;
  size_t bytes = 0;
  mem_category category = mem_category::temporaries;
  memory_accountant* accountant = nullptr;  // charged at allocation, released to the same one
  buffer(size_t bytes, mem_category c);
  ~buffer();
  buffer(const buffer&) = delete;
  buffer& operator=(const buffer&) = delete;
  // ZeRO-3's gathered parameters (core/parallel/zero3.hpp), as PyTorch FSDP resizes a storage to 0:
  // free_storage gives the bytes back (uncharged, data null) while this buffer and every view of it,
  // the tape's saved ones included, stay; restore_storage takes bytes again (uninitialised, charged
  // to the same accountant and category). Each is a no-op when already in that state.
  void free_storage();
  void restore_storage();
};

constexpr size_t buffer_alignment = 64;  // one cache line and one AVX-512 register

}  // namespace wb
