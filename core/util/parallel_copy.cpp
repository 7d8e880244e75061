// Contiguous chunks, one per thread, aligned to 4 KiB pages.
#include "core/util/parallel_copy.hpp"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace wb {

void parallel_copy(void* dst, const void* src, size_t bytes, int threads) {
  // Below a few MiB a thread costs more than it saves.
  if (threads <= 1 || bytes < (8u << 20)) {
    std::memcpy(dst, src, bytes);
    return;
  }
  size_t chunk = (bytes / size_t(threads) + 4095) & ~size_t(4095);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    size_t begin = std::min(bytes, chunk * size_t(t)), end = std::min(bytes, begin + chunk);
    if (begin < end)
      pool.emplace_back([=] { std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, end - begin); });
  }
  std::memcpy(dst, src, std::min(bytes, chunk));
  for (auto& th : pool) th.join();
}

}  // namespace wb
