// Test support: run a shell command (usually the real `wb` binary) and capture its output and
// exit status.
#pragma once
#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace wb::test {

struct command_result {
  int status = -1;   // exit status, or 128+signal
  std::string out;   // stdout and stderr, interleaved as 2>&1 gives them
};

inline command_result run_command(const std::string& command) {
  command_result r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline std::string wb_binary() { return WB_BINARY; }

}  // namespace wb::test
