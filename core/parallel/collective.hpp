// The collective role: how the ranks of one job exchange data. Training code (the trainer's
// gradient all-reduce, later ZeRO and tensor/pipeline parallel) talks only to this interface;
// backends/fabric implements it over libfabric between processes, local_collective_group between
// threads of one process for unit tests. Every call is collective over all ranks of the group unless
// it says otherwise, and all ranks must make the same calls in the same order.
//
// Buffers are f32 and in place. A buffer of n elements is split into world() chunks by chunk_range:
// the first n % world chunks hold one element more, so any n works, including n < world (empty
// chunks). Failures (a dead or hung peer, a deadline) throw collective_error naming the rank.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wb {

struct collective_error : std::runtime_error {
  int rank = -1;  // the rank that failed or was waited on; -1 when no single rank is to blame
  collective_error(const std::string& what, int failed_rank) : std::runtime_error(what), rank(failed_rank) {}
};

struct chunk {
  size_t begin = 0, size = 0;
};
// Chunk i of n elements split over `parts` ranks.
inline chunk chunk_range(size_t n, int parts, int i) {
  size_t base = n / size_t(parts), extra = n % size_t(parts), ui = size_t(i);
  return {ui * base + (ui < extra ? ui : extra), base + (ui < extra ? 1 : 0)};
}

// One point-to-point transfer of a send_recv batch.
struct p2p_op {
  bool send = false;
  void* data = nullptr;  // read when sending, written when receiving
  size_t bytes = 0;
  int peer = 0;
  uint32_t tag = 0;
};

class collective {
 public:
  virtual ~collective() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;

  // data (n) becomes the element-wise sum over all ranks.
  virtual void all_reduce_sum(float* data, size_t n) = 0;
  // Afterwards chunk_range(n, world, rank) of data holds the sum over ranks of that chunk; the
  // rest of data is unspecified.
  virtual void reduce_scatter_sum(float* data, size_t n) = 0;
  // Each rank contributes chunk_range(n, world, rank) of data; afterwards all of data is filled.
  virtual void all_gather(float* data, size_t n) = 0;
  // bytes of root's buffer are copied into every rank's buffer.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // Returns once every rank has entered it.
  virtual void barrier() = 0;
  // Point to point (not collective): messages between two ranks with the same tag arrive in the
  // order sent; the receiver must name the exact size (zero bytes: nothing travels). tag < 2^16.
  virtual void send(const void* data, size_t bytes, int peer, uint32_t tag) = 0;
  virtual void recv(void* data, size_t bytes, int peer, uint32_t tag) = 0;
  // A collective over the same ranks on a transport of its own, so that one thread can use it while
  // another uses this one (the trainer's comm thread reducing gradients over data parallel while
  // backward runs tensor parallel's all-reduces). Collective; it must not outlive this object.
  // nullptr where the backend has no second transport (this default).
  virtual std::unique_ptr<collective> open_channel() { return nullptr; }
  // Point to point: every send and receive of `ops` in flight at once, returning when all are
  // complete, so two ranks may send to each other in one call without deadlock when a send waits
  // for its receiver (Megatron-LM's batch_isend_irecv between pipeline stages). Order per (peer,
  // tag) is as for send and recv. This default sends first, then receives: right for backends
  // whose send returns before the receive is posted (local_collective); fabric_collective posts all.
  virtual void send_recv(const std::vector<p2p_op>& ops) {
    for (auto& o : ops)
      if (o.send) send(o.data, o.bytes, o.peer, o.tag);
    for (auto& o : ops)
      if (!o.send) recv(o.data, o.bytes, o.peer, o.tag);
  }
};

// A group of one: every collective is the identity. What a single-process run uses.
class single_rank_collective final : public collective {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  void all_reduce_sum(float*, size_t) override {}
  void reduce_scatter_sum(float*, size_t) override {}
  void all_gather(float*, size_t) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  void send(const void*, size_t, int peer, uint32_t) override { throw_no_peer(peer); }
  void recv(void*, size_t, int peer, uint32_t) override { throw_no_peer(peer); }

 private:
  [[noreturn]] static void throw_no_peer(int peer) {
    throw collective_error("rank " + std::to_string(peer) + " does not exist in a group of one rank", peer);
  }
};

}  // namespace wb
