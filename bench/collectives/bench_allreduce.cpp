// All-reduce bus bandwidth of wb's fabric collective, and memcpy bandwidth on the spot.
//   bench_allreduce allreduce PROVIDER WORLD MIB...   forks WORLD ranks over loopback
//   bench_allreduce memcpy MIB...                      one thread, the physical limit
//   bench_allreduce cma MIB...                         one thread: process_vm_readv into a staging slot,
//                                                      then add it, by slot size (shm's single copy)
// One line per size: "<MiB> <seconds per op> <algbw GB/s> <busbw GB/s>" (memcpy: "<MiB> <s> <GB/s>";
// cma: "<MiB> <slot KiB> <copy GB/s> <copy+add GB/s>", the fastest of 15 passes, as the kernel's copy for
// a peer (shm's CMA protocol) is what a two-sided or one-sided reduction over shm cannot avoid).
// Timing as bench/collectives/mpi_allreduce.c does it, so the two are comparable: 2 warm-up ops,
// then 3 timed loops of `iters` ops (about 1 GiB of data each, at least 3 ops), each timed
// by the slowest rank; the median loop is reported. busbw = algbw x 2(n-1)/n (nccl-tests).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>


#include "backends/fabric/fabric_collective.hpp"
#include "backends/fabric/fabric_collective_parts.hpp"
#include "backends/fabric/loopback_port.hpp"
#include "core/tensor/memory.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

int iterations_for(size_t bytes) { return int(std::clamp<size_t>((size_t(1) << 30) / bytes, 3, 200)); }

double now_s() { return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count(); }


void rank_main(int rank, int world, const wb::fabric_options& o, const std::vector<double>& mib) {
  wb::fabric_collective c(rank, world, o);
  for (double m : mib) {
    size_t bytes = size_t(m * 1024 * 1024), n = bytes / sizeof(float);
    // A tensor buffer, as training reduces them: core/tensor/memory.cpp backs large ones with huge
    // pages (and mpi_allreduce.c allocates Open MPI's buffer the same way).
    wb::buffer block(bytes, wb::mem_category::gradients);
    float* v = static_cast<float*>(block.data);
    std::memset(v, 0, bytes);
    for (int w = 0; w < 2; ++w) c.all_reduce_sum(v, n);
    int iters = iterations_for(bytes);
    std::vector<double> loops;
    for (int rep = 0; rep < 3; ++rep) {
      c.barrier();
      double t0 = now_s();
      for (int i = 0; i < iters; ++i) c.all_reduce_sum(v, n);
      std::vector<float> elapsed(size_t(world), 0.0f);
      elapsed[size_t(rank)] = float(now_s() - t0);
      c.all_reduce_sum(elapsed.data(), elapsed.size());  // everyone's time; the slowest counts
      loops.push_back(*std::max_element(elapsed.begin(), elapsed.end()) / iters);
    }
    std::sort(loops.begin(), loops.end());
    double t = loops[1];
    double algbw = double(bytes) / t / 1e9;
    if (rank == 0) std::printf("%g %.6g %.4g %.4g\n", m, t, algbw, algbw * 2.0 * (world - 1) / world);
    std::fflush(stdout);
  }
}

int run_allreduce(const std::string& provider, int world, const std::vector<double>& mib) {
  wb::fabric_options o = wb::fabric_options_from_env();
  o.provider = provider;
  wb::loopback_listener listener;
  listener.use_in(o);
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    pid_t p = ::fork();
    if (p == 0) {
      try {
        rank_main(r, world, o, mib);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_allreduce rank %d: %s\n", r, e.what());
        ::_exit(1);
      }
      ::_exit(0);
    }
    pids.push_back(p);
  }
  int failed = 0;
  for (pid_t p : pids) {
    int status = 0;
    ::waitpid(p, &status, 0);
    failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  return failed ? 1 : 0;
}

int run_memcpy(const std::vector<double>& mib) {
  for (double m : mib) {
    size_t bytes = size_t(m * 1024 * 1024);
    std::vector<char> a(bytes, 1), b(bytes, 2);
    int iters = iterations_for(bytes);
    std::vector<double> loops;
    for (int rep = 0; rep < 3; ++rep) {
      double t0 = now_s();
      for (int i = 0; i < iters; ++i) std::memcpy(i % 2 ? a.data() : b.data(), i % 2 ? b.data() : a.data(), bytes);
      loops.push_back((now_s() - t0) / iters);
    }
    std::sort(loops.begin(), loops.end());
    std::printf("%g %.6g %.4g\n", m, loops[1], double(bytes) / loops[1] / 1e9);
  }
  return 0;
}

// Reads the buffer from this process itself with process_vm_readv (the system call shm's CMA protocol
// and its fast RMA use for a peer) slot by slot, adding each slot into a second buffer as the
// reductions do. Another process's pages cost the same to pin and copy.
int run_cma(const std::vector<double>& mib) {
  for (double m : mib) {
    size_t bytes = size_t(m * 1024 * 1024) / 64 * 64;
    std::vector<float> src(bytes / sizeof(float), 1.0f), dst(bytes / sizeof(float), 2.0f);
    for (size_t slot_bytes : {size_t(64) << 10, size_t(256) << 10, size_t(1) << 20, bytes}) {
      slot_bytes = std::min(slot_bytes, bytes);
      std::vector<float> slot(slot_bytes / sizeof(float));
      double best = 1e30, best_copy = 1e30;
      for (int pass = 0; pass < 15; ++pass) {
        double copy = 0, t0 = now_s();
        for (size_t off = 0; off < bytes; off += slot_bytes) {
          size_t len = std::min(slot_bytes, bytes - off);
          iovec local{slot.data(), len}, remote{reinterpret_cast<char*>(src.data()) + off, len};
          double c0 = now_s();
          if (::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) != ssize_t(len)) {
            std::perror("bench_allreduce cma: process_vm_readv");
            return 1;
          }
          copy += now_s() - c0;
          wb::fabric_parts::add_into(dst.data() + off / sizeof(float), slot.data(), len / sizeof(float));
        }
        best = std::min(best, now_s() - t0), best_copy = std::min(best_copy, copy);
      }
      std::printf("%g %zu %.4g %.4g\n", m, slot_bytes >> 10, double(bytes) / best_copy / 1e9, double(bytes) / best / 1e9);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  std::vector<double> mib;
  int first = mode == "allreduce" ? 4 : 2;
  for (int i = first; i < argc; ++i) mib.push_back(std::atof(argv[i]));
  if (mode == "allreduce" && argc > 4) return run_allreduce(argv[2], std::atoi(argv[3]), mib);
  if (mode == "memcpy" && argc > 2) return run_memcpy(mib);
  if (mode == "cma" && argc > 2) return run_cma(mib);
  std::fprintf(stderr, "usage: bench_allreduce allreduce PROVIDER WORLD MIB... | memcpy MIB... | cma MIB...\n");
  return 2;
}
