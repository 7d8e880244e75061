// How the device profile times a piece of work: the fastest of repeated runs after a warm-up (at
// least 3, until 50 ms have passed), because the planner predicts a quiet machine and other jobs
// only ever add time.
#pragma once
#include <algorithm>
#include <chrono>

namespace wb {

template <class F>
double fastest(F&& fn) {
  fn();  // warm-up: page faults, thread pool start
  double best = 1e30, total = 0;
  for (int i = 0; i < 3 || total < 0.05; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
    if (i > 1000) break;
  }
  return best;
}

}  // namespace wb
