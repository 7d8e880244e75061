// What this machine has, read from the kernel: memory (MemTotal, MemAvailable in /proc/meminfo)
// and cores (the CPUs this process may run on).
#pragma once
#include <cstdint>

namespace wb {

struct machine_info {
  uint64_t memory_total = 0, memory_available = 0;  // bytes
  int cores = 1;
};

machine_info machine_probe();

}  // namespace wb
