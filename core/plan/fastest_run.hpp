// How the device profile times a piece of work: the fastest of repeated runs after a warm-up (at
// least 3, until 50 ms have passed), because the planner predicts a quiet machine and other jobs
// only ever add time. Each run is timed alone: on cores shared with other jobs, a run that spans
// several calls almost always contains one that waited for a descheduled thread.
// WB_PROFILE_CLOCK=cpu times by this process's CPU time instead of the wall clock: on a machine
// busy with other jobs, a one-thread profile then measures what the same machine does when quiet
// (with more threads it would also count their waiting, so use it with --threads 1).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace wb {

// Seconds on the profile's clock (see above).
inline double profile_clock_now() {
  static const bool cpu = [] {
    const char* e = std::getenv("WB_PROFILE_CLOCK");
    return e && std::strcmp(e, "cpu") == 0;
  }();
  timespec ts;
  clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

template <class F>
double fastest(F&& fn) {
  fn();  // warm-up: page faults, thread pool start
  double best = 1e30, total = 0;
  for (int i = 0; i < 3 || total < 0.05; ++i) {
    double t0 = profile_clock_now();
    fn();
    double s = profile_clock_now() - t0;
    best = std::min(best, s);
    total += s;
    if (i > 1000) break;
  }
  return best;
}

// The same over `copies` interchangeable copies of the work, fn(i) running copy i: each run takes
// the next copy (at least 3 rounds), so a copy's memory has left the caches when it runs again.
template <class F>
double fastest_rotating(int copies, F&& fn) {
  for (int i = 0; i < copies; ++i) fn(i);  // warm-up: page faults
  double best = 1e30, total = 0;
  for (int i = 0; i < 3 * copies || total < 0.05; ++i) {
    double t0 = profile_clock_now();
    fn(i % copies);
    double s = profile_clock_now() - t0;
    best = std::min(best, s);
    total += s;
    if (i > 5000) break;
  }
  return best;
}

}  // namespace wb
