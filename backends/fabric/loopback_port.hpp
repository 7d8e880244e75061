// The bootstrap socket for ranks started on this machine (`wb run --nproc`, the collective tests,
// the benchmarks and the planner's collective profile). Whoever starts the ranks opens it: a TCP
// socket already listening on a loopback port the kernel picked. Rank 0 inherits it (across fork,
// or across exec as WB_FABRIC_LISTEN_FD) and accepts on it; the others connect to its port.
//
// Why not just pick a free port and let rank 0 bind it: between the pick and the bind another
// process may take the port, most often as the ephemeral source port of an outgoing connection
// (tcp;ofi_rxm makes many). CI hit exactly that ("rank 0 cannot listen on port 44869: Address
// already in use") with tcp tests running in parallel. A socket held from choice to use has no
// such window. torchrun's --standalone has the same race; its agent store avoids it the same way.
#pragma once

#include "backends/fabric/fabric_options.hpp"

namespace wb {

class loopback_listener {
 public:
  // Throws std::runtime_error when no socket can be opened (out of descriptors or ports).
  loopback_listener();
  ~loopback_listener();  // closes the starter's copy; rank 0's inherited copy stays open
  loopback_listener(const loopback_listener&) = delete;
  loopback_listener& operator=(const loopback_listener&) = delete;

  int port() const { return port_; }
  int fd() const { return fd_; }
  // Points `o` at this socket: master_addr 127.0.0.1, master_port, listen_fd.
  void use_in(fabric_options& o) const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace wb
