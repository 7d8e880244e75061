// Timing as bench/collectives does it (so the two are comparable), shortened for a calibration:
// per message size and operation, 2 warm-up calls, then 3 timed loops of about 128 MiB of data
// (at least 3 calls each), each loop timed by the slowest rank; the median loop is kept. Sizes
// 4 KiB to 64 MiB by factors of 4 span a tiny model's gradients (16 MiB) and a small one's
// (about 80 MiB, priced beyond the table at the 64 MiB bandwidth). Rank 0 writes the table to a
// pipe the parent reads.
#include "backends/fabric/collective_profile.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/fabric/fabric_collective.hpp"
#include "backends/fabric/loopback_port.hpp"
#include "core/tensor/memory.hpp"

namespace wb {
namespace {

constexpr size_t min_bytes = size_t(4) << 10, max_bytes = size_t(64) << 20;
constexpr size_t bytes_per_loop = size_t(128) << 20;

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Seconds per call of `op` on n floats: the median of 3 loops, each the slowest rank's.
template <class F>
double time_collective(collective& c, size_t bytes, F op) {
  int iters = int(std::clamp<size_t>(bytes_per_loop / bytes, 3, 200));
  for (int w = 0; w < 2; ++w) op();
  std::vector<double> loops;
  for (int rep = 0; rep < 3; ++rep) {
    c.barrier();
    double t0 = now_s();
    for (int i = 0; i < iters; ++i) op();
    std::vector<float> elapsed(size_t(c.world()), 0.0f);
    elapsed[size_t(c.rank())] = float(now_s() - t0);
    c.all_reduce_sum(elapsed.data(), elapsed.size());
    loops.push_back(*std::max_element(elapsed.begin(), elapsed.end()) / iters);
  }
  std::sort(loops.begin(), loops.end());
  return loops[1];
}

void rank_main(int rank, int world, const fabric_options& o, int out_fd) {
  fabric_collective c(rank, world, o);
  std::string table;
  for (size_t bytes = min_bytes; bytes <= max_bytes; bytes *= 4) {
    size_t n = bytes / sizeof(float);
    // A tensor buffer, as training reduces them (large ones on huge pages, core/tensor/memory.cpp).
    buffer block(bytes, mem_category::gradients);
    float* v = static_cast<float*>(block.data);
    std::fill(v, v + n, 1.0f);
    double ar = time_collective(c, bytes, [&] { c.all_reduce_sum(v, n); });
    double rs = time_collective(c, bytes, [&] { c.reduce_scatter_sum(v, n); });
    double ag = time_collective(c, bytes, [&] { c.all_gather(v, n); });
    table += fmt::format("{} {:.9g} {:.9g} {:.9g}\n", bytes, ar, rs, ag);
  }
  if (rank == 0 && ::write(out_fd, table.data(), table.size()) != ssize_t(table.size())) throw std::runtime_error("cannot write the results");
}

}  // namespace

void measure_collectives(device_profile& p, int ranks) {
  fabric_options o = fabric_options_from_env();
  loopback_listener listener;
  listener.use_in(o);
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("collective profile: cannot create a pipe");
  std::fflush(nullptr);
  std::vector<pid_t> pids;
  for (int r = 0; r < ranks; ++r) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      try {
        rank_main(r, ranks, o, fds[1]);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "wb plan: collective profile, rank %d: %s\n", r, e.what());
        ::_exit(1);
      }
      ::_exit(0);
    }
    if (pid < 0) throw std::runtime_error("collective profile: fork failed");
    pids.push_back(pid);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t got; (got = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, size_t(got));
  ::close(fds[0]);
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  if (failed)
    throw std::runtime_error(fmt::format("collective profile: {} of {} ranks failed over provider '{}' (see above); set FI_PROVIDER "
                                         "to one that works here (shm or tcp)", failed, ranks, o.provider));
  p.collectives.clear();
  collective_point c;
  const char* s = text.c_str();
  int used = 0;
  while (std::sscanf(s, "%lf %lf %lf %lf%n", &c.bytes, &c.all_reduce_s, &c.reduce_scatter_s, &c.all_gather_s, &used) == 4) {
    p.collectives.push_back(c);
    s += used;
  }
  p.collective_ranks = ranks;
}

}  // namespace wb
