// control_channel: blocking sockets with poll() deadlines for the bootstrap; afterwards one monitor
// thread per rank owns the reads, and writes (heartbeats, goodbyes, failure relays) happen under mu_.
// Frames are 8 bytes: a type letter, 3 bytes padding, an int32 rank.
//   'H' heartbeat   'B' goodbye   'X' rank exited (socket closed)   'S' rank silent (relayed by rank 0)
#include "backends/fabric/control_channel.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace wb {
namespace {

using clock = std::chrono::steady_clock;
constexpr uint32_t hello_magic = 0x31464257;  // "WBF1": wb fabric bootstrap, version 1

double seconds_since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

// Reads exactly n bytes before `deadline`; false on EOF, error or timeout.
bool read_exact(int fd, void* buf, size_t n, clock::time_point deadline) {
  auto* p = static_cast<char*>(buf);
  while (n) {
    int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count());
    if (ms <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t got = ::recv(fd, p, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got, n -= size_t(got);
  }
  return true;
}

bool write_all(int fd, const void* buf, size_t n) {
  auto* p = static_cast<const char*>(buf);
  while (n) {
    ssize_t put = ::send(fd, p, n, MSG_NOSIGNAL);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    p += put, n -= size_t(put);
  }
  return true;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Rank 0's listening socket on `port` (all interfaces: the others may be on other machines).
int listen_on(int port) {
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  sa.sin_port = htons(uint16_t(port));
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(lfd, SOMAXCONN) != 0) {
    int e = errno;
    ::close(lfd);
    throw std::runtime_error(fmt::format("rank 0 cannot listen on port {}: {}; hint: set MASTER_PORT to a free port",
                                         port, std::strerror(e)));
  }
  return lfd;
}

struct hello {
  uint32_t magic;
  int32_t rank, world;
};

}  // namespace

control_channel::control_channel(int rank, int world, const std::string& addr, int port, double bootstrap_timeout_s,
                                 int listen_fd)
    : rank_(rank), world_(world) {
  if (listen_fd >= 0 && rank != 0) ::close(listen_fd);  // only rank 0 accepts; the others connect
  if (world < 1 || rank < 0 || rank >= world)
    throw std::invalid_argument(fmt::format("Invalid rank {} for world size {}: expected 0 <= rank < world", rank, world));
  if (world == 1) {
    if (listen_fd >= 0) ::close(listen_fd);
    return;
  }
  auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(bootstrap_timeout_s));
  if (rank == 0) {
    peers_.resize(size_t(world));
    int lfd = listen_fd >= 0 ? listen_fd : listen_on(port);
    int connected = 0;
    while (connected < world - 1) {
      int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count());
      pollfd pfd{lfd, POLLIN, 0};
      int r = ms > 0 ? ::poll(&pfd, 1, ms) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        std::string missing;
        for (int k = 1; k < world; ++k)
          if (peers_[size_t(k)].fd < 0) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
        ::close(lfd);
        for (auto& p : peers_)
          if (p.fd >= 0) ::close(p.fd);
        throw std::runtime_error(fmt::format("rank(s) {} did not connect to rank 0 on port {} within {} s "
                                             "(WB_FABRIC_BOOTSTRAP_TIMEOUT); hint: start every rank with the same "
                                             "MASTER_ADDR, MASTER_PORT and world size",
                                             missing, port, bootstrap_timeout_s));
      }
      int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      hello h{};
      if (!read_exact(fd, &h, sizeof h, deadline) || h.magic != hello_magic) {
        ::close(fd);  // not one of ours (a port scanner, a stale job): keep listening
        continue;
      }
      if (h.world != world || h.rank <= 0 || h.rank >= world || peers_[size_t(h.rank)].fd >= 0) {
        ::close(fd);
        ::close(lfd);
        throw std::runtime_error(fmt::format("a process connected as rank {} of world {}, but this job has world {}{}; "
                                             "hint: is another job using MASTER_PORT {}?",
                                             h.rank, h.world, world,
                                             h.rank > 0 && h.rank < world ? " and that rank already connected" : "", port));
      }
      set_nodelay(fd);
      peers_[size_t(h.rank)].fd = fd;
      ++connected;
    }
    ::close(lfd);
  } else {
    peers_.resize(1);
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (int e = ::getaddrinfo(addr.c_str(), std::to_string(port).c_str(), &hints, &res); e != 0)
      throw std::runtime_error(fmt::format("cannot resolve MASTER_ADDR '{}': {}", addr, gai_strerror(e)));
    int fd = -1;
    while (true) {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(fd, res->ai_addr, res->ai_addrlen) == 0) break;
      ::close(fd);
      fd = -1;
      if (clock::now() >= deadline) break;
      ::usleep(50 * 1000);  // rank 0 may not be listening yet
    }
    ::freeaddrinfo(res);
    if (fd < 0)
      throw std::runtime_error(fmt::format("rank {} could not connect to rank 0 at {}:{} within {} s "
                                           "(WB_FABRIC_BOOTSTRAP_TIMEOUT); hint: is rank 0 running with the same MASTER_PORT?",
                                           rank, addr, port, bootstrap_timeout_s));
    set_nodelay(fd);
    hello h{hello_magic, rank, world};
    if (!write_all(fd, &h, sizeof h)) {
      ::close(fd);
      throw std::runtime_error(fmt::format("rank {}: rank 0 at {}:{} closed the connection during the bootstrap", rank, addr, port));
    }
    peers_[0].fd = fd;
  }
}

std::vector<std::vector<char>> control_channel::exchange(const std::vector<char>& mine) {
  std::vector<std::vector<char>> all(static_cast<size_t>(world_));
  all[size_t(rank_)] = mine;
  if (world_ == 1) return all;
  // The exchange follows the connect, so the bootstrap deadline is generous but still a deadline.
  auto deadline = clock::now() + std::chrono::seconds(60);
  auto fail = [&](int who) {
    return std::runtime_error(fmt::format("rank {}: the address exchange with rank {} failed (it exited or is stuck)", rank_, who));
  };
  if (rank_ == 0) {
    for (int k = 1; k < world_; ++k) {
      uint32_t len = 0;
      int fd = peers_[size_t(k)].fd;
      if (!read_exact(fd, &len, 4, deadline) || len > (1u << 16)) throw fail(k);
      all[size_t(k)].resize(len);
      if (!read_exact(fd, all[size_t(k)].data(), len, deadline)) throw fail(k);
    }
    for (int k = 1; k < world_; ++k)
      for (auto& blob : all) {
        uint32_t len = uint32_t(blob.size());
        if (!write_all(peers_[size_t(k)].fd, &len, 4) || !write_all(peers_[size_t(k)].fd, blob.data(), len)) throw fail(k);
      }
  } else {
    uint32_t len = uint32_t(mine.size());
    if (!write_all(peers_[0].fd, &len, 4) || !write_all(peers_[0].fd, mine.data(), len)) throw fail(0);
    for (auto& blob : all) {
      if (!read_exact(peers_[0].fd, &len, 4, deadline) || len > (1u << 16)) throw fail(0);
      blob.resize(len);
      if (!read_exact(peers_[0].fd, blob.data(), len, deadline)) throw fail(0);
    }
  }
  return all;
}

void control_channel::start_monitor(double timeout_s) {
  if (world_ == 1 || monitor_.joinable()) return;
  timeout_s_ = timeout_s;
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  auto now = clock::now();
  for (auto& p : peers_) p.last_seen = now;
  monitor_ = std::thread([this] { monitor_loop(); });
}

std::string control_channel::failure() const {
  std::lock_guard lk(mu_);
  return failure_;
}

void control_channel::send_frame(peer& p, char type, int rank) {
  if (p.fd < 0 || p.closed) return;
  char frame[8] = {type, 0, 0, 0};
  int32_t r = rank;
  std::memcpy(frame + 4, &r, 4);
  write_all(p.fd, frame, 8);  // a failed write shows up as EOF on the read side
}

void control_channel::declare_failed(int rank, const std::string& why) {
  // Called with mu_ held.
  if (failed_rank_.load() != -1) return;
  failure_ = fmt::format("rank {} {}", rank, why);
  failed_at_ = clock::now();
  failed_rank_.store(rank, std::memory_order_release);
  cv_.notify_all();
  if (rank_ == 0) {
    char type = why.find("heartbeat") != std::string::npos ? 'S' : 'X';
    for (size_t k = 1; k < peers_.size(); ++k)
      if (int(k) != rank) send_frame(peers_[k], type, rank);
  }
}

bool control_channel::read_frames(size_t i) {
  peer& p = peers_[i];
  char buf[256];
  ssize_t got = ::recv(p.fd, buf, sizeof buf, MSG_DONTWAIT);
  if (got == 0) return false;
  if (got < 0) return errno == EAGAIN || errno == EINTR;
  p.inbox.append(buf, size_t(got));
  p.last_seen = clock::now();
  while (p.inbox.size() >= 8) {
    char type = p.inbox[0];
    int32_t r;
    std::memcpy(&r, p.inbox.data() + 4, 4);
    p.inbox.erase(0, 8);
    if (type == 'B') {
      p.said_bye = true;
      ++byes_;
      cv_.notify_all();
    } else if (type == 'X') {
      declare_failed(r, "exited or lost its connection (seen by rank 0)");
    } else if (type == 'S') {
      declare_failed(r, fmt::format("sent no heartbeat for {} s: stopped, hung or unreachable (seen by rank 0)", timeout_s_));
    }
  }
  return true;
}

void control_channel::monitor_loop() {
  double interval = std::max(0.05, timeout_s_ / 10);
  auto last_sent = clock::time_point{};
  std::vector<pollfd> fds;
  std::vector<size_t> index;
  while (!stop_.load()) {
    fds.clear();
    index.clear();
    fds.push_back({wake_pipe_[0], POLLIN, 0});
    for (size_t i = 0; i < peers_.size(); ++i)
      if (peers_[i].fd >= 0 && !peers_[i].closed) {
        fds.push_back({peers_[i].fd, POLLIN, 0});
        index.push_back(i);
      }
    ::poll(fds.data(), fds.size(), int(interval * 1000));
    if (stop_.load()) break;
    std::lock_guard lk(mu_);
    for (size_t j = 1; j < fds.size(); ++j) {
      if (!(fds[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      size_t i = index[j - 1];
      if (!read_frames(i)) {
        peers_[i].closed = true;
        if (!peers_[i].said_bye) declare_failed(rank_ == 0 ? int(i) : 0, "exited or lost its connection");
      }
    }
    auto now = clock::now();
    if (std::chrono::duration<double>(now - last_sent).count() >= interval) {
      for (auto& p : peers_) send_frame(p, 'H', rank_);
      last_sent = now;
    }
    if (failed_rank_.load() != -1 && !acknowledged_.load() && seconds_since(failed_at_) > timeout_s_ / 4) {
      std::string msg = fmt::format("wb: rank {}: {}; this rank did not get back from the fabric provider within {} s "
                                    "(a stopped peer can hold a shared-memory lock), so it exits\n",
                                    rank_, failure_, timeout_s_ / 4);
      [[maybe_unused]] ssize_t w = ::write(2, msg.data(), msg.size());
      ::_exit(1);
    }
    for (size_t i = 0; i < peers_.size(); ++i) {
      peer& p = peers_[i];
      if (p.fd < 0 || p.closed || p.said_bye) continue;
      if (seconds_since(p.last_seen) > timeout_s_)
        declare_failed(rank_ == 0 ? int(i) : 0,
                       fmt::format("sent no heartbeat for {} s: stopped, hung or unreachable", timeout_s_));
    }
  }
}

void control_channel::finish() {
  if (world_ == 1 || !monitor_.joinable()) return;
  std::unique_lock lk(mu_);
  if (rank_ == 0) {
    cv_.wait(lk, [&] { return byes_ == world_ - 1 || failed_rank_.load() != -1; });
    if (failed_rank_.load() != -1) return;
    for (size_t k = 1; k < peers_.size(); ++k) send_frame(peers_[k], 'B', 0);
  } else {
    send_frame(peers_[0], 'B', rank_);
    cv_.wait(lk, [&] { return byes_ == 1 || failed_rank_.load() != -1; });
  }
}

control_channel::~control_channel() {
  if (monitor_.joinable()) {
    stop_.store(true);
    char c = 0;
    [[maybe_unused]] ssize_t w = ::write(wake_pipe_[1], &c, 1);
    monitor_.join();
  }
  for (int fd : wake_pipe_)
    if (fd >= 0) ::close(fd);
  for (auto& p : peers_)
    if (p.fd >= 0) ::close(p.fd);
}

}  // namespace wb
