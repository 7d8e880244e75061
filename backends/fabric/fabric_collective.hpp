// The collective role over libfabric between processes (on one machine over shm or tcp, across
// machines over tcp or efa). Construction is the bootstrap: every rank of the job constructs one
// with the same world size and MASTER_ADDR/MASTER_PORT; it returns when all ranks are connected.
//
// Algorithms: ring reduce-scatter, ring all-gather, and all-reduce as the two back to back
// (2(world-1) steps, the NCCL ring), each step cut into slices that are pipelined: slice j of step
// s+1 leaves as soon as slice j of step s has arrived (and been added). On a power-of-two world the
// same three use recursive halving/doubling instead (Thakur, Rabenseifner and Gropp 2005,
// "Optimization of Collective Communication Operations in MPICH"): the reduce-scatter halves the
// chunks exchanged with the partner across each bit of the rank, the all-gather doubles them back,
// so an all-reduce takes 2 log2(world) steps with the ring's bytes (4 ranks on 2 cores wait for a
// peer to be scheduled 4 times instead of 6). Small all-reduces on such a world use recursive
// doubling (log2(world) exchanges of the whole buffer): fewer steps matter more than bytes there.
// Over shm (RMA by process_vm_readv/writev) mid-sized all-reduces on 4 or more ranks are one-sided
// instead (fabric_one_sided.cpp: each rank reads its chunk from every peer, sums it and writes it
// back, with no peer taking part), which waits for descheduled peers twice per operation, not per step.
// Broadcast is a pipelined chain from the root. Waiting ranks spin briefly, then yield the core
// (with more ranks than cores a spinning rank starves the one it waits for:
// shared/reference/libfabric.md).
//
// Failures: a peer that dies or stops is named in a collective_error on every rank within
// timeout_s plus two heartbeat intervals (control_channel); a wait with no message completing for
// op_timeout_s fails too, naming the rank it waited for. After an error the object is unusable.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "backends/fabric/fabric_options.hpp"
#include "core/parallel/collective.hpp"

namespace wb {

class control_channel;
class fabric_endpoint;
struct fabric_request;

class fabric_collective final : public collective {
 public:
  fabric_collective(int rank, int world, fabric_options options = fabric_options_from_env());
  // Waits (bounded by failure detection) until every rank is done, unless this rank already failed.
  ~fabric_collective() override;

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  void all_reduce_sum(float* data, size_t n) override;
  void reduce_scatter_sum(float* data, size_t n) override;
  void all_gather(float* data, size_t n) override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;
  void send(const void* data, size_t bytes, int peer, uint32_t tag) override;
  void recv(void* data, size_t bytes, int peer, uint32_t tag) override;
  void send_recv(const std::vector<p2p_op>& ops) override;

  // A second endpoint (its own libfabric fabric and domain, so another thread may drive it: each
  // endpoint is FI_THREAD_DOMAIN) whose addresses travel over this one; it shares this object's
  // control channel for failure detection. Its destructor waits at a barrier, so no rank closes
  // its endpoint while a peer still receives from it.
  std::unique_ptr<collective> open_channel() override;

  const std::string& provider() const;

 private:
  // A transfer plan: receives (optionally summed into data through a staging slot) and sends,
  // where a send may wait for one receive to be complete.
  struct recv_step {
    int peer;
    void* into;           // where the bytes land, or nullptr: a staging slot, then add to reduce_into
    float* reduce_into;
    size_t bytes;
    uint64_t tag;
    float* copy_sum_to = nullptr;  // after the add, the sum is also copied here (a later step sends it)
    long after_recv = -1;          // posted only once this earlier receive has arrived (and been added)
  };
  struct send_step {
    int peer;
    const void* from;
    size_t bytes;
    uint64_t tag;
    long after_recv;  // index into the receives, or -1
  };
  // region: the user's buffer (registered if the provider needs it); sends come from send_region
  // when one is given.
  void run(const std::vector<recv_step>& recvs, const std::vector<send_step>& sends, const void* region,
           size_t region_bytes, const char* what, const void* send_region = nullptr, size_t send_region_bytes = 0);
  void ring(float* data, size_t n, bool reduce, bool gather, const char* what);
  bool use_halving_doubling() const;
  void halving_doubling(float* data, size_t n, bool reduce, bool gather, const char* what);
  void recursive_doubling(float* data, size_t n, const char* what);
  bool use_one_sided(size_t bytes, bool all_reduce) const;
  void one_sided(float* data, size_t n, bool reduce, bool gather, const char* what);
  void check_peer(int peer, const char* what) const;
  // The progress loop's two halves, shared by run() and one_sided(). poll: what completed, where a
  // provider's transfer error becomes the control channel's account of the failure when it has one.
  // idle: called after a poll found nothing; spins, then yields, then sleeps between polls, and
  // throws when a rank failed or nothing completed for op_timeout_s (naming waited()).
  struct wait_state {
    std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
    int idle = 0;
    bool sleeping = false;
    void progressed() { last_progress = std::chrono::steady_clock::now(), idle = 0, sleeping = false; }
  };
  int poll(std::vector<fabric_request*>& completed, const char* what);
  void idle(wait_state& w, const char* what, const std::function<int()>& waited);
  template <class F>
  void guarded(F&& f);

  struct channel_of {};  // open_channel's constructor
  fabric_collective(channel_of, fabric_collective& parent);
  std::unique_ptr<fabric_endpoint> open_endpoint() const;  // for o_ and world_ (both constructors)

  int rank_, world_;
  fabric_options o_;
  size_t depth_ = 1;  // slices per chunk the ring algorithms aim for (fabric_collective.cpp: per provider)
  std::unique_ptr<fabric_endpoint> ep_;
  std::shared_ptr<control_channel> control_;
  bool owns_control_ = true;  // false on a channel: the parent says goodbye
  uint32_t op_seq_ = 0;
  std::map<std::pair<int, uint32_t>, uint32_t> send_seq_, recv_seq_;  // (peer, tag) -> next message
  std::vector<float> slots_;  // staging slices for reductions
  std::vector<char> batch_out_, batch_in_;  // send_recv: the batch's payloads in one registered region each
  std::vector<float> sent_;   // recursive doubling: what each step sends, so data can be summed meanwhile
  std::vector<float> rma_slots_;  // one-sided: slices read from the peers, summed into data
  bool broken_ = false;
};

}  // namespace wb
