// The out-of-band TCP side of a fabric job: rank 0 listens on MASTER_ADDR:MASTER_PORT, every other
// rank connects to it (a star). Over it the ranks exchange their libfabric endpoint names (the
// bootstrap), then a monitor thread in each rank exchanges heartbeats with rank 0 until shutdown.
//
// Why: shm and tcp;ofi_rxm never report a dead peer (a receive from a killed rank never completes),
// so liveness is watched here. A killed rank's socket closes at once; a stopped or hung one goes
// silent. Rank 0 notices either and relays "rank k failed" to the others; the others notice rank 0
// the same way. failed_rank() then returns k on every surviving rank within timeout plus about two
// heartbeat intervals, and the collectives' wait loops turn that into an error naming k.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wb {

class control_channel {
 public:
  // Connects the star and exchanges names; returns when every rank has the table. Throws
  // std::runtime_error saying which rank did not connect, or what is wrong with the address.
  // listen_fd >= 0: a socket already listening on master_port (loopback_port.hpp); this object
  // takes it over (rank 0 accepts on it, the others close it).
  control_channel(int rank, int world, const std::string& master_addr, int master_port, double bootstrap_timeout_s,
                  int listen_fd = -1);
  ~control_channel();  // stops the monitor; no goodbye (call finish() for an orderly exit)
  control_channel(const control_channel&) = delete;
  control_channel& operator=(const control_channel&) = delete;

  // Every rank's blob, in rank order (each rank passes its own; collective over the star).
  std::vector<std::vector<char>> exchange(const std::vector<char>& mine);

  // Starts heartbeats every timeout/10 s; a rank silent for timeout_s is declared failed.
  void start_monitor(double timeout_s);

  // -1 while every rank is alive; else the first rank found dead or silent.
  int failed_rank() const { return failed_rank_.load(std::memory_order_acquire); }
  // The caller has seen failed_rank() and is reporting it. Without this, the monitor ends the
  // process (exit status 1, the failure on stderr) a grace period (timeout/4) after the failure:
  // the shm provider can leave a rank spinning forever on a lock that a stopped peer holds, and a
  // rank busy outside collectives must not outlive its job either.
  void acknowledge_failure() { acknowledged_.store(true); }
  std::string failure() const;  // "rank 2 exited or lost its connection", ...

  // Orderly goodbye: returns when every rank has called finish(), or when a rank fails meanwhile
  // (then failed_rank() tells which). After it, a peer closing its socket is not a failure.
  void finish();

 private:
  struct peer {
    int fd = -1;
    std::chrono::steady_clock::time_point last_seen;
    bool said_bye = false, closed = false;
    std::string inbox;  // partial frames
  };
  void monitor_loop();
  void declare_failed(int rank, const std::string& why);
  void send_frame(peer& p, char type, int rank);
  bool read_frames(size_t index);  // false when the socket closed

  int rank_, world_;
  std::vector<peer> peers_;  // rank 0: one per other rank (index = rank); others: [0] = rank 0
  double timeout_s_ = 0;
  std::thread monitor_;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_rank_{-1};
  std::atomic<bool> acknowledged_{false};
  std::chrono::steady_clock::time_point failed_at_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string failure_;
  bool finishing_ = false;
  int byes_ = 0;           // rank 0: goodbyes received; others: 1 once rank 0 said goodbye
};

}  // namespace wb
