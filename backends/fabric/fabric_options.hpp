// What a fabric_collective needs to know beyond rank and world: where rank 0 listens for the
// address exchange, which libfabric provider to use, and the deadlines. Every field can come from
// the environment (fabric_options_from_env), so tests and launchers set them without code.
#pragma once
#include <cstddef>
#include <string>

namespace wb {

struct fabric_options {
  // FI_PROVIDER: "shm" (one machine), "tcp" (any network; means "tcp;ofi_rxm"), "efa" (AWS).
  std::string provider = "shm";
  // MASTER_ADDR / MASTER_PORT (the torchrun names): rank 0 listens there for the others.
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // WB_FABRIC_LISTEN_FD: a socket already listening on master_port, inherited from whoever
  // started the ranks on this machine (loopback_port.hpp); rank 0 accepts on it instead of binding
  // the port itself, the others close it. -1: rank 0 binds master_port.
  int listen_fd = -1;
  // WB_FABRIC_TIMEOUT: a rank silent this long (no heartbeat: killed, stopped, hung machine) is
  // declared failed and every rank stops with an error naming it. 15 s keeps detection, relay
  // (a heartbeat interval, timeout/10) and the stuck-provider grace (timeout/4) under the 30 s that
  // issue 7 asks for; NCCL's and PyTorch's 10-minute defaults are far longer.
  double timeout_s = 15;
  // WB_FABRIC_OP_TIMEOUT: longest time one collective may go without any message completing
  // while every peer still sends heartbeats (a mismatched call sequence, a stuck provider). Long,
  // because a live peer may legitimately be busy that long: rank 0 evaluating or writing a
  // synchronous checkpoint while the others wait in the next step's all-reduce.
  double op_timeout_s = 1800;
  // WB_FABRIC_BOOTSTRAP_TIMEOUT: how long rank 0 waits for the others to connect (and they for it).
  double bootstrap_timeout_s = 120;
  // WB_FABRIC_SLICE_BYTES: the largest message the collectives cut a transfer into. 0: the
  // default fabric_collective picks (fabric_collective.cpp: 16 MiB for two ranks over shm, 1 MiB
  // otherwise).
  size_t slice_bytes = 0;
  // WB_FABRIC_ALGORITHM: "auto" picks by provider, world and size (fabric_collective.hpp); "ring"
  // forces the ring, "halving_doubling" the recursive halving/doubling (power-of-two worlds only;
  // others ring), "one_sided" the RMA algorithm for all-reduce, reduce-scatter and all-gather (shm
  // only). For tests and benchmarks that compare them.
  std::string algorithm = "auto";
};

// Reads FI_PROVIDER, MASTER_ADDR, MASTER_PORT and the WB_FABRIC_* variables over `defaults`.
// Throws std::invalid_argument naming the variable when one is malformed.
fabric_options fabric_options_from_env(fabric_options defaults = {});

// "tcp" -> "tcp;ofi_rxm" (the tcp provider alone has no reliable-datagram endpoints); others as is.
std::string fabric_provider_name(const std::string& provider);

}  // namespace wb
