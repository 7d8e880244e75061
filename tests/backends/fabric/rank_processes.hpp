// Test support: runs a body in N forked processes, one fabric_collective rank each, over loopback,
// and collects how each process ended (exit code, error text, when). The children never return
// into Catch2: they _exit with 0 (body finished, rank shut down cleanly) or 1 (an exception; its
// what() is sent back through a pipe). Rank 0 accepts on a loopback_listener the parent opened, so
// no other process (tests run in parallel) can take the bootstrap port first.
#pragma once
#include <chrono>
#include <csignal>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/fabric/fabric_collective.hpp"
#include "backends/fabric/loopback_port.hpp"

namespace wb::test {

struct rank_outcome {
  int exit_code = -1;     // 0 ok, 1 exception, 128+signal
  std::string message;    // the exception's text
  double exited_at = 0;   // seconds since the ranks were started
};

// Options for ranks on this machine; rank_processes fills in the bootstrap address and socket.
inline fabric_options loopback_options(const std::string& provider, double timeout_s = 20) {
  fabric_options o;
  o.provider = provider;
  o.timeout_s = timeout_s;
  o.op_timeout_s = 120;
  o.bootstrap_timeout_s = 30;
  o.slice_bytes = 4096;  // small slices: many pipeline steps even for small test buffers
  return o;
}

class rank_processes {
 public:
  using body = std::function<void(fabric_collective&)>;
  // Starts `world` ranks running `run`; each writes one byte to the ready pipe after `run` calls
  // signal_ready() (or right after construction if it never does).
  rank_processes(int world, fabric_options o, const body& run) : pids_(size_t(world)), pipes_(size_t(world)) {
    start_ = std::chrono::steady_clock::now();
    listener_.use_in(o);
    if (::pipe(ready_) != 0) throw std::runtime_error("pipe failed");
    for (int r = 0; r < world; ++r) {
      int p[2];
      if (::pipe(p) != 0) throw std::runtime_error("pipe failed");
      pid_t pid = ::fork();
      if (pid == 0) {
        ::close(p[0]);
        ::close(ready_[0]);
        ::dup2(p[1], 2);  // what the failure watchdog prints lands in the message too
        ready_fd() = ready_[1];
        int code = 0;
        std::string msg;
        try {
          fabric_collective c(r, world, o);
          run(c);
        } catch (const std::exception& e) {
          code = 1;
          msg = e.what();
        }
        [[maybe_unused]] ssize_t w = ::write(p[1], msg.data(), msg.size());
        ::_exit(code);
      }
      ::close(p[1]);
      pids_[size_t(r)] = pid;
      pipes_[size_t(r)] = p[0];
    }
    ::close(ready_[1]);
  }
  ~rank_processes() {
    for (pid_t p : pids_)
      if (p > 0) {
        ::kill(p, SIGKILL);
        ::waitpid(p, nullptr, 0);
      }
    for (int fd : pipes_) ::close(fd);
    ::close(ready_[0]);
  }

  // Called inside a rank's body: tells the parent this rank is past its setup.
  static void signal_ready() {
    char c = 1;
    [[maybe_unused]] ssize_t w = ::write(ready_fd(), &c, 1);
  }
  // Parent: true when `count` ranks signalled within `seconds`.
  bool wait_ready(int count, double seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (count > 0) {
      int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      pollfd pfd{ready_[0], POLLIN, 0};
      if (ms <= 0 || ::poll(&pfd, 1, ms) <= 0) return false;
      char buf[64];
      ssize_t n = ::read(ready_[0], buf, std::min<size_t>(sizeof buf, size_t(count)));
      if (n <= 0) return false;
      count -= int(n);
    }
    return true;
  }

  pid_t pid(int rank) const { return pids_[size_t(rank)]; }
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  // Waits for the ranks in `which` to exit (up to `seconds`); the ones still running are killed and
  // reported with exit_code -1.
  std::vector<rank_outcome> wait(const std::vector<int>& which, double seconds_limit) {
    std::vector<rank_outcome> out(pids_.size());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds_limit);
    size_t left = which.size();
    while (left > 0 && std::chrono::steady_clock::now() < deadline) {
      for (int r : which) {
        pid_t& p = pids_[size_t(r)];
        if (p <= 0) continue;
        int status = 0;
        if (::waitpid(p, &status, WNOHANG) != p) continue;
        p = 0;
        --left;
        auto& o = out[size_t(r)];
        o.exited_at = seconds();
        o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        char buf[4096];
        ssize_t n;
        while ((n = ::read(pipes_[size_t(r)], buf, sizeof buf)) > 0) o.message.append(buf, size_t(n));
      }
      ::usleep(10 * 1000);
    }
    return out;
  }
  std::vector<rank_outcome> wait_all(double seconds_limit) {
    std::vector<int> all;
    for (int r = 0; r < int(pids_.size()); ++r) all.push_back(r);
    return wait(all, seconds_limit);
  }

 private:
  static int& ready_fd() {
    static int fd = -1;
    return fd;
  }
  loopback_listener listener_;
  std::chrono::steady_clock::time_point start_;
  std::vector<pid_t> pids_;
  std::vector<int> pipes_;
  int ready_[2] = {-1, -1};
};

}  // namespace wb::test
