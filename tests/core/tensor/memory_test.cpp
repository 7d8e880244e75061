// The memory accountant: live and peak bytes per category and overall follow real allocations; a
// memory_scope gives a thread (a rank of a thread-rank test) its own; large buffers ask for huge pages.
#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "core/tensor/tensor.hpp"

using namespace wb;

TEST_CASE("allocations are charged to their category and released with their last view", "[memory]") {
  auto before = memory().category(mem_category::optimizer_state).live;
  auto total_before = memory().total().live;
  {
    tensor a({1000}, mem_category::optimizer_state);
    tensor view = a.reshape({10, 100});
    CHECK(memory().category(mem_category::optimizer_state).live == before + 4000);
    CHECK(memory().total().live == total_before + 4000);
    a = tensor();
    CHECK(memory().category(mem_category::optimizer_state).live == before + 4000);  // view keeps it
  }
  CHECK(memory().category(mem_category::optimizer_state).live == before);
}

TEST_CASE("peaks record the high-water mark until reset", "[memory]") {
  memory().reset_peaks();
  auto base = memory().category(mem_category::activations).live;
  {
    tensor a({2000}, mem_category::activations);
    { tensor b({500}, mem_category::activations, dtype::bf16); }
  }
  CHECK(memory().category(mem_category::activations).peak == base + 8000 + 1000);
  CHECK(memory().category(mem_category::activations).live == base);
  memory().reset_peaks();
  CHECK(memory().category(mem_category::activations).peak == base);
  CHECK(std::string(mem_category_name(mem_category::optimizer_state)) == "optimizer_state");
}

TEST_CASE("a freed buffer is reused for the same size, uncharged while cached, the cache within the highest total", "[memory][cache]") {
  buffer_cache_release();
  auto live = memory().total().live;
  void* first;
  {
    tensor a({4096}, mem_category::activations);
    first = a.raw();
  }
  CHECK(memory().total().live == live);  // freed: cached, not charged
  CHECK(buffer_cache_bytes() == 4096 * 4);
  {
    tensor b({4096}, mem_category::temporaries);  // same bytes, any category
    CHECK(b.raw() == first);
    CHECK(buffer_cache_bytes() == 0);
    tensor c({4096}, mem_category::temporaries);  // none left of that size: a new block
    CHECK(c.raw() != first);
  }
  CHECK(buffer_cache_bytes() == 2 * 4096 * 4);
  // A buffer that would take the cache past the highest total is freed, not kept.
  buffer_cache_release();
  CHECK(buffer_cache_bytes() == 0);
  int64_t n = int64_t(memory().lifetime_peak() / 4 / 16 + 1) * 16;  // more than anything live so far
  { tensor a({n}, mem_category::temporaries); }
  CHECK(buffer_cache_bytes() == size_t(n) * 4);  // highest total >= a's bytes: kept
  { tensor b({n + 16}, mem_category::temporaries); }
  CHECK(buffer_cache_bytes() == size_t(n) * 4);  // a + b exceeds the highest total (live + b): freed
  buffer_cache_release();
}

TEST_CASE("a memory_scope charges its thread's buffers to its own accountant, released there from any thread", "[memory][scope]") {
  memory_accountant rank0, rank1;
  auto process_live = memory().total().live;
  tensor kept;
  std::thread t1([&] {
    memory_scope scope(rank1);
    tensor a({1000}, mem_category::activations);
    kept = tensor({500}, mem_category::gradients);
    CHECK(memory().total().live == 6000);  // memory() is rank1 on this thread
  });
  t1.join();
  {
    memory_scope scope(rank0);
    tensor b({250}, mem_category::parameters);
    CHECK(rank0.total().live == 1000);
  }
  CHECK(rank0.total().live == 0);
  CHECK(rank0.total().peak == 1000);
  CHECK(rank1.category(mem_category::activations).peak == 4000);
  CHECK(rank1.total().peak == 6000);
  CHECK(rank1.total().live == 2000);  // `kept`, allocated under rank1's scope
  kept = tensor();                    // freed on this thread, outside any scope
  CHECK(rank1.total().live == 0);
  CHECK(memory().total().live == process_live);  // the process-wide accountant saw none of it
}

namespace {

// The VmFlags of the mapping of /proc/self/smaps that holds `p` ("" when none does).
std::string vm_flags_at(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  uintptr_t at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= at && at < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

}  // namespace

TEST_CASE("a buffer of 2 MiB or more starts on a huge page and asks for transparent huge pages", "[memory][hugepages]") {
  // core/tensor/memory.cpp: what makes a peer's CMA copy of a tensor cheap (docs/benchmarks.md).
  tensor big({1 << 20}, mem_category::gradients);  // 4 MiB
  CHECK(reinterpret_cast<uintptr_t>(big.raw()) % (uintptr_t(2) << 20) == 0);
  tensor small({1000}, mem_category::gradients);
  CHECK(reinterpret_cast<uintptr_t>(small.raw()) % 64 == 0);
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled") || !std::ifstream("/proc/self/smaps")) {
    WARN("skipped the MADV_HUGEPAGE check: no transparent huge pages in this kernel, or no /proc/self/smaps");
    return;
  }
  // madvise(MADV_HUGEPAGE) marks the mapping: "hg" among its VmFlags (proc(5)).
  std::string flags = vm_flags_at(big.raw());
  INFO(flags);
  CHECK(flags.find(" hg") != std::string::npos);
}
