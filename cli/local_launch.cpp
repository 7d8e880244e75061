// launch_local_ranks: fork + exec of /proc/self/exe with the original arguments (from
// /proc/self/cmdline), so the ranks parse exactly what the user typed.
#include "cli/local_launch.hpp"

#include "backends/fabric/loopback_port.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wb {
namespace {

std::vector<pid_t> children;
extern "C" void forward_signal(int sig) {
  for (pid_t p : children)
    if (p > 0) ::kill(p, sig);
}


}  // namespace

int launch_local_ranks(int nproc, const std::string& run_dir, bool add_out) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t b = 0; b < raw.size();) {
    size_t e = raw.find('\0', b);
    if (e == std::string::npos) e = raw.size();
    args.push_back(raw.substr(b, e - b));
    b = e + 1;
  }
  if (add_out) {
    args.push_back("--out");
    args.push_back(run_dir);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  loopback_listener listener;  // rank 0 inherits it (WB_FABRIC_LISTEN_FD): the port cannot be taken meanwhile
  std::string port = std::to_string(listener.port());
  std::fflush(nullptr);
  for (int r = 0; r < nproc; ++r) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      if (r == 0)
        ::setenv("WB_FABRIC_LISTEN_FD", std::to_string(listener.fd()).c_str(), 1);
      else
        ::close(listener.fd());
      ::execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "wb run --nproc: cannot start rank %d: exec /proc/self/exe failed\n", r);
      ::_exit(127);
    }
    children.push_back(pid);
  }
  struct sigaction sa{};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  // Ctrl-C reaches every rank through the terminal's process group; the launcher just waits.
  ::signal(SIGINT, SIG_IGN);
  int first_failure = 0;
  for (size_t left = children.size(); left > 0;) {
    int status = 0;
    pid_t p = ::waitpid(-1, &status, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (pid_t& c : children)
      if (c == p) c = 0, --left;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && first_failure == 0) first_failure = code;
  }
  return first_failure;
}

}  // namespace wb
