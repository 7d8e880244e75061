#include "backends/fabric/loopback_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace wb {

loopback_listener::loopback_listener() {
  // Not SOCK_CLOEXEC: `wb run --nproc` passes it to rank 0 across exec.
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error(fmt::format("cannot open the bootstrap socket: {}", std::strerror(errno)));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks a free one
  socklen_t len = sizeof sa;
  // The backlog holds every rank's connection until rank 0 starts accepting (SOMAXCONN, 4096 here).
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd_, SOMAXCONN) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    int e = errno;
    ::close(fd_);
    throw std::runtime_error(fmt::format("cannot listen on a loopback port for the bootstrap: {}", std::strerror(e)));
  }
  port_ = ntohs(sa.sin_port);
}

loopback_listener::~loopback_listener() {
  if (fd_ >= 0) ::close(fd_);
}

void loopback_listener::use_in(fabric_options& o) const {
  o.master_addr = "127.0.0.1";
  o.master_port = port_;
  o.listen_fd = fd_;
}

}  // namespace wb
