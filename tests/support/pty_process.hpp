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

  // Waits for the program to exit; its exit status, or -1 after `seconds`.
  // Ctrl-D: end of input at an empty prompt. The tty can swallow a ^D that arrives while the
  // line editor is between reads (canonical mode turns it into a zero-length read nobody sees),
  // so it is sent again each second until the program exits; the exit status, or -1.
  int send_eof_and_wait_exit(double seconds = 10) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      type("\x04");
      if (int status = wait_exit(1.0); status != -1) return status;
    }
    return -1;
  }

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
