// /proc/meminfo and the affinity mask.
#include "core/run/machine.hpp"

#include <fstream>
#include <sched.h>
#include <string>

namespace wb {

machine_info machine_probe() {
  machine_info m;
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemTotal:") m.memory_total = kib * 1024;
    if (key == "MemAvailable:") m.memory_available = kib * 1024;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) m.cores = CPU_COUNT(&set);
  return m;
}

}  // namespace wb
