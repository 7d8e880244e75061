// The one-sided all-reduce, reduce-scatter and all-gather (endpoints with supports_rma(): shm here).
// Every rank announces its buffer (address and key of a registration) to every other rank, reads
// its own chunk from each peer's buffer with fi_read and sums it (reduce), writes its summed chunk
// into each peer's buffer with fi_write (gather), then tells each peer it is done with its buffer;
// it returns once every peer has told it the same. Over shm an RMA is one process_vm_readv/writev by
// the initiator alone, so a rank does its whole share without any peer being scheduled: with more
// ranks than cores (4 on 2 here) a descheduled peer delays the others at the two synchronizations
// (all announced, all done), not at each of the 2 log2(n) steps of halving/doubling or the 2(n-1)
// of the ring, where every step waits for the partner to run. The bytes are the ring's: each rank
// reads and writes (n-1)/n of the buffer. Chunk r is summed only by rank r, always in the order
// r+1, r+2, ... (mod n), so results are the same from run to run.
#include <algorithm>
#include <cstring>

#include "backends/fabric/fabric_collective.hpp"
#include "backends/fabric/fabric_collective_parts.hpp"
#include "backends/fabric/fabric_endpoint.hpp"

namespace wb {
namespace {

// Slice of a chunk read from every peer before summing: the n-1 slices read plus the slice of data
// they are added into stay in the 1 MiB L2 of a Zen 5 core with 4 ranks (4 x 64 KiB x 2 sets), so
// the add and the writes of the sum that follow read from cache (bench/collectives, 2026-11-23).
constexpr size_t one_sided_slice_bytes = size_t(64) << 10;
// Slices in flight per peer (sets of staging slots): reads of slice j+1 proceed while slice j waits
// for its last peer. Over shm each read completes inside fi_read, so one more set is enough.
constexpr size_t read_depth = 2;
// At most this many slices per chunk (larger slices beyond): each shm RMA also leaves a note in the
// peer's command queue (1024 entries by default, libfabric 1.17 smr_rma_fast) that the peer clears
// when it polls; 2 x 256 per operation leaves room while a peer is descheduled.
constexpr size_t max_slices = 256;

}  // namespace

using namespace fabric_parts;

void fabric_collective::one_sided(float* data, size_t n, bool reduce, bool gather, const char* what) {
  const int w = world_, r = rank_, peers = w - 1;
  const size_t np = size_t(w - 1);
  const uint32_t seq = op_seq_++;
  const chunk mine = chunk_range(n, w, r);
  const size_t chunk_bytes = mine.size * sizeof(float);
  size_t slice = std::min(o_.slice_bytes, one_sided_slice_bytes);
  slice = std::max(slice, (chunk_bytes + max_slices - 1) / max_slices);
  const size_t slices = (chunk_bytes + slice - 1) / slice;  // 0 for an empty chunk
  const size_t slice_floats = chunk_range(mine.size, int(std::max<size_t>(slices, 1)), 0).size;
  auto peer_of = [&](int k) { return (r + 1 + k) % w; };  // k = 0 .. peers-1: the order of the sum

  // Control words: [0, 1] this rank's announcement (address, key), [2] the "done" token, then per
  // peer k its announcement at 4 + 2k and its "done" at 4 + 2 peers + k.
  std::vector<uint64_t> ctl(size_t(4 + 3 * peers), 0);
  auto region = ep_->register_remote(data, n * sizeof(float));
  ctl[0] = region.addr, ctl[1] = region.key;
  auto ctl_mr = ep_->register_memory(ctl.data(), ctl.size() * sizeof(uint64_t));
  void* ctl_desc = fabric_endpoint::descriptor(ctl_mr.get());
  void* data_desc = fabric_endpoint::descriptor(region.mr.get());
  if (reduce && rma_slots_.size() < read_depth * np * slice_floats)
    rma_slots_.assign(read_depth * np * slice_floats, 0.0f);
  auto slots_mr = ep_->register_memory(rma_slots_.data(), rma_slots_.size() * sizeof(float));
  void* slots_desc = fabric_endpoint::descriptor(slots_mr.get());
  auto slot = [&](size_t j, int k) { return rma_slots_.data() + ((j % read_depth) * np + size_t(k)) * slice_floats; };

  // Requests: per peer its announcement and "done" (in and out), per slice and peer a read and a write.
  enum : uint64_t { announce_message = 0, done_message = 1 };
  std::vector<fabric_request> announce_in(np), done_in(np), announce_out(np),
      done_out(np), reads(reduce ? slices * np : 0), writes(gather ? slices * np : 0);
  std::vector<char> announced(np, 0), peer_done(np, 0);
  std::vector<size_t> next_read(np, 0), next_write(np, 0), reads_arrived(slices, 0);
  size_t summed = reduce ? 0 : slices;  // slices of this rank's chunk complete (summed) so far
  size_t rma_left = reads.size() + writes.size(), sends_left = 0, announces_left = np, dones_left = np;
  size_t announce_posted = 0, done_posted = 0;
  bool done_sent = false;
  std::vector<const float*> sources(np);
  std::vector<fabric_request*> completed;
  wait_state wait;

  for (int k = 0; k < peers; ++k) {
    int p = peer_of(k);
    announce_in[size_t(k)].peer = done_in[size_t(k)].peer = announce_out[size_t(k)].peer = done_out[size_t(k)].peer = p;
    announce_in[size_t(k)].index = size_t(k), done_in[size_t(k)].index = size_t(peers + k);
  }
  size_t recvs_posted = 0;  // the announcements' receives, then the "done"s'

  while (sends_left > 0 || dones_left > 0 || !done_sent) {
    bool posted = false;
    // Receives first, so that a peer's messages meet a posted buffer; then the announcements.
    for (; recvs_posted < 2 * np; ++recvs_posted, posted = true) {
      size_t k = recvs_posted % np;
      bool is_done = recvs_posted >= np;
      void* into = is_done ? &ctl[4 + 2 * np + k] : &ctl[4 + 2 * k];
      if (!ep_->post_recv(is_done ? done_in[k] : announce_in[k], into, (is_done ? 1 : 2) * sizeof(uint64_t), ctl_desc,
                          collective_tag(peer_of(int(k)), seq, is_done ? done_message : announce_message)))
        break;
    }
    for (; announce_posted < np; ++announce_posted, ++sends_left, posted = true)
      if (!ep_->post_send(announce_out[announce_posted], ctl.data(), 2 * sizeof(uint64_t), ctl_desc, collective_tag(r, seq, announce_message)))
        break;
    for (int k = 0; k < peers; ++k) {
      if (!announced[size_t(k)]) continue;
      uint64_t base = ctl[size_t(4 + 2 * k)], key = ctl[size_t(4 + 2 * k + 1)];
      // Reads of this rank's chunk from peer k, read_depth slices ahead of the sum.
      for (size_t& j = next_read[size_t(k)]; reduce && j < slices && j < summed + read_depth; ++j, posted = true) {
        chunk s = chunk_range(mine.size, int(slices), int(j));
        fabric_request& q = reads[j * np + size_t(k)];
        q.peer = peer_of(k), q.index = j;
        if (!ep_->post_read(q, slot(j, k), s.size * sizeof(float), slots_desc, base + (mine.begin + s.begin) * sizeof(float), key)) break;
      }
      // Writes of the summed slices into peer k's copy of this rank's chunk.
      for (size_t& j = next_write[size_t(k)]; gather && j < summed; ++j, posted = true) {
        chunk s = chunk_range(mine.size, int(slices), int(j));
        fabric_request& q = writes[j * np + size_t(k)];
        q.peer = peer_of(k), q.index = j;
        float* from = data + mine.begin + s.begin;
        if (!ep_->post_write(q, from, s.size * sizeof(float), data_desc, base + (mine.begin + s.begin) * sizeof(float), key)) break;
      }
    }
    // Once every read and write is complete, the peers may have their buffers back.
    if (rma_left == 0 && announces_left == 0)
      for (; done_posted < np; ++done_posted, ++sends_left, posted = true)
        if (!ep_->post_send(done_out[done_posted], &ctl[2], sizeof(uint64_t), ctl_desc, collective_tag(r, seq, done_message))) break;
    done_sent = done_posted == np;

    completed.clear();
    if (poll(completed, what) == 0 && !posted) {
      idle(wait, what, [&] {
        for (int k = 0; k < peers; ++k)
          if (!announced[size_t(k)]) return peer_of(k);
        for (int k = 0; k < peers; ++k)
          if (!peer_done[size_t(k)]) return peer_of(k);
        return -1;
      });
      continue;
    }
    wait.progressed();
    for (fabric_request* q : completed) {
      switch (q->op) {
        case fabric_op::send: --sends_left; break;
        case fabric_op::recv:
          if (q->index < np) announced[q->index] = 1, --announces_left;
          else peer_done[q->index - np] = 1, --dones_left;
          break;
        case fabric_op::write: --rma_left; break;
        case fabric_op::read: --rma_left, ++reads_arrived[q->index]; break;
      }
    }
    // Sum the slices whose reads have all arrived, in order (a slot set frees for slice j + depth).
    while (summed < slices && reads_arrived[summed] == np) {
      chunk s = chunk_range(mine.size, int(slices), int(summed));
      for (int k = 0; k < peers; ++k) sources[size_t(k)] = slot(summed, k);
      add_all_into(data + mine.begin + s.begin, sources.data(), peers, s.size);
      ++summed;
    }
  }
}

}  // namespace wb
