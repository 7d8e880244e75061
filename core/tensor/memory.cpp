// The process-wide memory accountant (or a thread's scoped one), aligned buffers and the cache of freed buffers.
#include "core/tensor/memory.hpp"

#include <cstdlib>
#include <new>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>

namespace wb {
namespace {

// Freed blocks by rounded size. Exact sizes only: a step's allocations repeat exactly, and a
// best-fit search would hand out larger blocks than asked, which the accountant would not see.
class buffer_cache {
 public:
  void* take(size_t rounded) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(rounded);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= rounded;
    return p;
  }
  // Keeps p unless the cache would then hold more than the highest total so far (`highest`).
  void give(void* p, size_t rounded, size_t highest) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + rounded > highest) {
      std::free(p);
      return;
    }
    free_[rounded].push_back(p);
    cached_ += rounded;
  }
  size_t bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    cached_ = 0;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

// Never destroyed: a tensor freed during static destruction still has a cache to return to.
buffer_cache& cache() {
  static buffer_cache* c = new buffer_cache;
  return *c;
}

// Blocks of at least a huge page start on a huge-page boundary and ask for transparent huge
// pages (MADV_HUGEPAGE: where the kernel's setting is "madvise", as on this machine and by Ubuntu's
// default, nothing is backed by huge pages unless asked). What they buy: a peer's process_vm_readv of a tensor (libfabric shm's
// CMA copy, every large message between rank processes here) walks and pins one entry per 2 MiB
// instead of 512, and first touch faults once per 2 MiB. Measured with bench_allreduce, 2 ranks
// over shm, 2026-11-24: 4 / 16 / 64 MiB at 17.4 / 6.1 / 4.7-5.9 GB/s against 9.2-9.8 / 4.1 /
// 2.9-3.3 on 4 KiB pages. A block's tail past its last whole huge page stays on 4 KiB pages, so
// nothing is allocated beyond what is asked.
constexpr size_t huge_page = size_t(2) << 20;  // x86-64 and arm64 (4 KiB base pages) PMD size

void* allocate_block(size_t rounded) {
  if (rounded < huge_page) return std::aligned_alloc(buffer_alignment, rounded);
  void* p = nullptr;
  if (posix_memalign(&p, huge_page, rounded) != 0) return nullptr;
  ::madvise(p, rounded / huge_page * huge_page, MADV_HUGEPAGE);  // advice only: failing leaves 4 KiB pages
  return p;
}

size_t rounded_size(size_t n) {
  size_t rounded = (n + buffer_alignment - 1) / buffer_alignment * buffer_alignment;
  return rounded == 0 ? buffer_alignment : rounded;
}

}  // namespace

const char* mem_category_name(mem_category c) {
  switch (c) {
    case mem_category::parameters: return "parameters";
    case mem_category::gradients: return "gradients";
    case mem_category::optimizer_state: return "optimizer_state";
    case mem_category::activations: return "activations";
    case mem_category::temporaries: return "temporaries";
  }
  return "?";
}

void memory_accountant::charge(mem_category c, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& s = by_category_[size_t(c)];
  s.live += bytes;
  if (s.live > s.peak) s.peak = s.live;
  total_.live += bytes;
  if (total_.live > total_.peak) total_.peak = total_.live;
  if (total_.live > lifetime_peak_) lifetime_peak_ = total_.live;
}

size_t memory_accountant::lifetime_peak() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lifetime_peak_;
}

void memory_accountant::release(mem_category c, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  by_category_[size_t(c)].live -= bytes;
  total_.live -= bytes;
}

mem_stats memory_accountant::category(mem_category c) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_category_[size_t(c)];
}

mem_stats memory_accountant::total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

void memory_accountant::reset_peaks() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : by_category_) s.peak = s.live;
  total_.peak = total_.live;
}

namespace {
thread_local memory_accountant* scoped_accountant = nullptr;
}  // namespace

memory_accountant& memory() {
  static memory_accountant accountant;
  return scoped_accountant ? *scoped_accountant : accountant;
}

memory_scope::memory_scope(memory_accountant& a) : previous_(scoped_accountant) { scoped_accountant = &a; }
memory_scope::~memory_scope() { scoped_accountant = previous_; }

size_t buffer_cache_bytes() { return cache().bytes(); }
void buffer_cache_release() { cache().release(); }

buffer::buffer(size_t n, mem_category c) : bytes(n), category(c) {
  accountant = &memory();
  restore_storage();
}

buffer::~buffer() { free_storage(); }

void buffer::restore_storage() {
  if (data) return;
  size_t rounded = rounded_size(bytes);
  data = cache().take(rounded);
  if (!data) data = allocate_block(rounded);
  if (!data) throw std::bad_alloc();
  accountant->charge(category, bytes);
}

void buffer::free_storage() {
  if (!data) return;
  accountant->release(category, bytes);
  cache().give(data, rounded_size(bytes), accountant->lifetime_peak());
  data = nullptr;
}

}  // namespace wb
