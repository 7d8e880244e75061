// memcpy split over threads: a checkpoint snapshot is the only time training waits for a save,
// and one core's copy bandwidth is well below what the memory system gives two.
#pragma once
#include <cstddef>

namespace wb {

void parallel_copy(void* dst, const void* src, size_t bytes, int threads = 2);

}  // namespace wb
