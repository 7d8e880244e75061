// Test support: a program run on a pseudo-terminal, as a person at a terminal runs it. The test
// types bytes (a line, Tab, Ctrl-C = "\x03", Ctrl-D = "\x04") and waits for text to appear in what
// the program writes; everything read is kept for INFO on failure.
#pragma once
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <poll.h>
#include <pty.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace wb::test {

class pty_process {
 public:
  // Runs `argv` with `env` (NAME=value) added to this process's environment, on a 200-column
  // terminal so that long lines do not wrap.
  pty_process(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env) {
    struct winsize ws{};
    ws.ws_row = 50;
    ws.ws_col = 200;
    pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~pty_process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  void type(const std::string& bytes) {
    if (write(fd_, bytes.data(), bytes.size()) != ssize_t(bytes.size())) throw std::runtime_error("write to pty failed");
  }

  // Reads until `text` appears after what earlier waits consumed; returns the output from there to
  // the end of `text`, or "" after `seconds` (the whole transcript stays in transcript()).
  std::string wait_for(const std::string& text, double seconds = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (true) {
      size_t at = out_.find(text, consumed_);
      if (at != std::string::npos) {
        std::string seen = out_.substr(consumed_, at + text.size() - consumed_);
        consumed_ = at + text.size();
        return seen;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(int(left.count()))) return "";
    }
  }

  // Ctrl-D (end of input at an empty prompt), once, then waits for the program to exit: its exit
  // status, or -1 after `seconds`.
  int send_eof_and_wait_exit(double seconds = 10) {
    type("\x04");
    return wait_exit(seconds);
  }

  // Waits for the program to exit; its exit status, or -1 after `seconds`.
  int wait_exit(double seconds = 10) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      read_some(50);
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    return -1;
  }

  const std::string& transcript() const { return out_; }

  // Whether the terminal is in canonical (line-at-a-time, cooked) mode, as the program last set it:
  // a pseudo-terminal's master reads the settings of its slave.
  bool terminal_is_canonical() const {
    struct termios t{};
    if (tcgetattr(fd_, &t) != 0) throw std::runtime_error("tcgetattr on the pty failed");
    return (t.c_lflag & ICANON) != 0;
  }

 private:
  bool read_some(int timeout_ms) {
    struct pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    out_.append(buf, size_t(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool exited_ = false;
  std::string out_;
  size_t consumed_ = 0;
};

}  // namespace wb::test
