// fabric_collective: the two-sided plans (which slice goes where, after what) and the one progress
// loop that executes them; the one-sided algorithm is in fabric_one_sided.cpp. Tags:
// fabric_collective_parts.hpp.
#include "backends/fabric/fabric_collective.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <thread>

#include <fmt/format.h>
#include <sched.h>

#include "backends/fabric/control_channel.hpp"
#include "backends/fabric/fabric_collective_parts.hpp"
#include "backends/fabric/fabric_endpoint.hpp"

namespace wb {
namespace {
using namespace fabric_parts;

using clock = std::chrono::steady_clock;
constexpr int max_ranks = 1 << 19;
constexpr uint64_t max_messages = uint64_t(1) << 20;  // per collective operation
constexpr uint32_t max_user_tag = 1u << 16;
// In-flight receives (each reduction receive holds one staging slice) and sends per operation:
// enough to keep the pipeline full over two ring steps.
constexpr size_t window = 8;
// Empty completion-queue polls before a waiting rank yields its core. A poll is ~50-100 ns on shm, so
// this is a few microseconds: with more ranks than cores the peer needs the core more than we do.
constexpr int spin_polls = 64;
// A wait with nothing completing for sleep_after polls every sleep_poll instead of yielding, so
// ranks waiting on a peer that is busy elsewhere (evaluating, writing a checkpoint) stop burning a
// core. Not sooner: on 2026-11-23 with 4 ranks on 2 loaded cores, sleeping after 1 ms halved the bus
// bandwidth at 1 MiB (a descheduled peer is often gone for milliseconds, and a sleeper wakes late).
constexpr auto sleep_after = std::chrono::milliseconds(100);
constexpr auto sleep_poll = std::chrono::microseconds(200);
// Smallest slice worth a message of its own (64 KiB: per-message costs are ~1-6 us here, so a
// slice moves at >= 10 GB/s-equivalent of overhead), and how many slices a ring step should have
// where slicing overlaps anything: over tcp the kernel moves one slice while we add the last.
constexpr size_t min_slice_bytes = size_t(64) << 10;
constexpr size_t pipeline_depth = 4;
// Two ranks over shm: nothing overlaps. A large message is one process_vm_readv that the
// receiver itself makes inside its progress call, after which it adds, and the one partner waits
// for exactly that; every extra slice only adds a round trip of commands and a page-pinning pass.
// bench_allreduce, 2 ranks over shm, quiet machine (2026-11-23 20:30 UTC), busbw GB/s at
// 1/4/16/64/256 MiB: slices of 1 MiB, four per step, 6.5/7.8/3.1/2.9/3.5; one slice per chunk up
// to 16 MiB 9.3/10.1/4.5/3.8/3.5; Open MPI (vader, one CMA copy per message) 7.2/10.0/4.6/1.9/2.0.
// One slice of the whole chunk (128 MiB) gave 4.1 at 256 MiB, but a staging slot is as large as a
// slice; 16 MiB caps them at window x 16 MiB. With 4 ranks on the 2 cores slices (1 MiB then) stay
// ahead (three rounds at 64 MiB: 1.49/1.64/1.54 against 1.38/1.46/1.41 GB/s; even at 16 MiB):
// there a rank's steps overlap with other ranks' work.
constexpr size_t two_rank_shm_pipeline_depth = 1;
constexpr size_t two_rank_shm_slice_bytes = size_t(16) << 20;
// shm with more ranks: 256 KiB. bench_allreduce, 4 ranks, 6 alternating rounds on 2026-11-23 23:05
// UTC, median busbw GB/s at 16/64/256 MiB: 256 KiB slices 2.07/1.86/1.98, 512 KiB 1.80/1.79/1.91,
// 1 MiB 1.81/1.83/1.91, Open MPI (vader) 1.89/1.04/1.26.
constexpr size_t shm_slice_bytes = size_t(256) << 10;
// Elsewhere 1 MiB: tcp;ofi_rxm is in rendezvous mode above 128 KiB (shared/reference/libfabric.md).
constexpr size_t default_slice_bytes = size_t(1) << 20;
// Two ranks over tcp: one message per slice of up to 1 MiB, left in ofi_rxm's rendezvous (the
// receiver pulls the data into its posted buffer) instead of four eager slices per step pushed by
// both ranks at once. bench_allreduce against Open MPI's ob1/tcp, 8 alternating rounds on
// 2026-11-23 22:40 UTC, median busbw GB/s at 1/4/16/64 MiB: four eager slices 1.57/2.05/1.67/1.63,
// one eager message per slice 1.72/2.07/1.81/1.71, one rendezvous message per slice
// 3.41/2.81/2.02/2.04, Open MPI 3.29/2.41/1.70/1.24. With 4 ranks the eager slices stay (five
// rounds at 1/4/16 MiB: 0.83/0.98/0.91 eager, 0.83/0.95/0.90 one rendezvous message, 0.46/0.92/0.99
// four rendezvous slices).
constexpr size_t two_rank_tcp_pipeline_depth = 1;
// All-reduces up to this size use recursive doubling on power-of-two worlds; above it recursive
// halving/doubling. Doubling moves log2(n) whole buffers and copies the buffer, halving/doubling
// 2(n-1)/n of one in twice the steps. bench/collectives on 2026-11-23 (2 and 4 ranks, shm and tcp):
// halving/doubling was ahead from 256 KiB up, doubling only when latency is everything (64 KiB).
constexpr size_t recursive_doubling_max_bytes = size_t(64) << 10;
// On endpoints with RMA (shm) and at least one_sided_min_world ranks, all-reduces of these sizes are
// one-sided (fabric_one_sided.cpp). bench/collectives on 2026-11-23 10:40-10:48 UTC, 4 ranks on 2
// cores under load average 6-13 (other agents compiling), three rounds each, busbw GB/s:
// one-sided 0.75/0.32/0.30 at 1 MiB, 0.49/0.35/0.26 at 4 MiB, 0.34/0.22/0.28 at 16 MiB;
// halving/doubling 0.16/0.81/0.30, 0.33/0.38/0.64, 0.40/0.53/1.10. So halving/doubling from 16 MiB
// up, and with 2 ranks (no step to save: halving/doubling is 2 steps there too); below, mixed
// under that load, one-sided where it needs no peer to be scheduled between steps.
// reduce_scatter_sum and all_gather stay two-sided unless WB_FABRIC_ALGORITHM=one_sided.
constexpr size_t one_sided_min_bytes = size_t(64) << 10, one_sided_max_bytes = size_t(4) << 20;
constexpr int one_sided_min_world = 4;

}  // namespace

fabric_collective::fabric_collective(int rank, int world, fabric_options options)
    : rank_(rank), world_(world), o_(std::move(options)) {
  if (world < 1 || world > max_ranks || rank < 0 || rank >= world)
    throw std::invalid_argument(fmt::format("Invalid rank {} of world {}: expected 0 <= rank < world <= {}", rank, world, max_ranks));
  const std::string provider = fabric_provider_name(o_.provider);
  const bool two_rank_shm = provider == "shm" && world == 2, two_rank_tcp = provider == "tcp;ofi_rxm" && world == 2;
  if (o_.slice_bytes == 0)
    o_.slice_bytes = two_rank_shm ? two_rank_shm_slice_bytes : provider == "shm" ? shm_slice_bytes : default_slice_bytes;
  depth_ = two_rank_shm ? two_rank_shm_pipeline_depth : two_rank_tcp ? two_rank_tcp_pipeline_depth : pipeline_depth;
  ep_ = open_endpoint();
  if (o_.algorithm == "one_sided" && !ep_->supports_rma())
    throw std::invalid_argument(fmt::format("WB_FABRIC_ALGORITHM=one_sided needs RMA whose completed writes are in the peer's "
                                            "memory, which provider '{}' does not give here; hint: use FI_PROVIDER=shm, or "
                                            "WB_FABRIC_ALGORITHM=auto", ep_->provider_name()));
  control_ = std::make_unique<control_channel>(rank, world, o_.master_addr, o_.master_port, o_.bootstrap_timeout_s,
                                               o_.listen_fd);
  ep_->insert_peers(control_->exchange(ep_->name()));
  control_->exchange({});  // every rank has every address before anyone sends
  control_->start_monitor(o_.timeout_s);
}

fabric_collective::fabric_collective(channel_of, fabric_collective& parent)
    : rank_(parent.rank_), world_(parent.world_), o_(parent.o_), depth_(parent.depth_), control_(parent.control_),
      owns_control_(false) {
  ep_ = open_endpoint();
  // Every rank's name in turn from its owner, over the parent: first its length, then its bytes.
  std::vector<std::vector<char>> names(static_cast<size_t>(world_));
  for (int r = 0; r < world_; ++r) {
    std::vector<char>& name = names[size_t(r)];
    if (r == rank_) name = ep_->name();
    uint64_t bytes = name.size();
    parent.broadcast(&bytes, sizeof bytes, r);
    name.resize(size_t(bytes));
    parent.broadcast(name.data(), name.size(), r);
  }
  ep_->insert_peers(names);
  parent.barrier();  // every rank has every address before anyone sends
}

std::unique_ptr<fabric_endpoint> fabric_collective::open_endpoint() const {
  // Every slice eager, except with two ranks over tcp (rendezvous above ofi_rxm's own limit).
  const bool two_rank_tcp = fabric_provider_name(o_.provider) == "tcp;ofi_rxm" && world_ == 2;
  return std::make_unique<fabric_endpoint>(o_.provider, two_rank_tcp ? 0 : o_.slice_bytes);
}

std::unique_ptr<collective> fabric_collective::open_channel() {
  std::unique_ptr<collective> channel;
  guarded([&] { channel.reset(new fabric_collective(channel_of{}, *this)); });
  return channel;
}

fabric_collective::~fabric_collective() {
  // An orderly goodbye only when this rank is healthy and not unwinding from an error; otherwise
  // closing the control socket is what tells rank 0 (and through it everyone) that we are gone.
  // A channel's goodbye is a barrier (its endpoint stays open until every peer is done with it); a
  // failure meanwhile is the parent's to report.
  if (broken_ || std::uncaught_exceptions() != 0) return;
  if (owns_control_) {
    control_->finish();
    return;
  }
  try {
    barrier();
  } catch (const collective_error&) {
  }
}

const std::string& fabric_collective::provider() const { return ep_->provider_name(); }

template <class F>
void fabric_collective::guarded(F&& f) {
  if (broken_) throw collective_error(fmt::format("rank {}: the fabric collective is unusable after an earlier error", rank_), -1);
  try {
    f();
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void fabric_collective::check_peer(int peer, const char* what) const {
  if (peer < 0 || peer >= world_) throw collective_error(fmt::format("{}: rank {} does not exist (world {})", what, peer, world_), peer);
}

int fabric_collective::poll(std::vector<fabric_request*>& completed, const char* what) {
  try {
    return ep_->poll(completed);
  } catch (const collective_error&) {
    // A provider can report a dead peer's transfer as failed (shm: EIO) a moment before the
    // control channel sees its socket close; the channel's message says what happened, so give
    // it a second to arrive.
    auto until = clock::now() + std::chrono::seconds(1);
    while (control_->failed_rank() < 0 && clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (int failed = control_->failed_rank(); failed >= 0) {
      control_->acknowledge_failure();
      throw collective_error(fmt::format("{} on rank {} stopped: {}", what, rank_, control_->failure()), failed);
    }
    throw;
  }
}

void fabric_collective::idle(wait_state& w, const char* what, const std::function<int()>& waited) {
  if (++w.idle < spin_polls) return;
  // Long waits (a peer still computing, or not scheduled) sleep between polls: a rank that only
  // yields stays runnable and takes its fair share of a loaded machine from the ranks that work.
  if (w.idle % 64 == 0 && clock::now() - w.last_progress > sleep_after) w.sleeping = true;
  if (w.sleeping) std::this_thread::sleep_for(sleep_poll);
  else sched_yield();
  if (w.idle % 64) return;
  if (int failed = control_->failed_rank(); failed >= 0) {
    control_->acknowledge_failure();
    throw collective_error(fmt::format("{} on rank {} stopped: {}", what, rank_, control_->failure()), failed);
  }
  double quiet = std::chrono::duration<double>(clock::now() - w.last_progress).count();
  if (quiet > o_.op_timeout_s) {
    int peer = waited();
    throw collective_error(fmt::format("{} on rank {}: nothing arrived from rank {} for {} s (WB_FABRIC_OP_TIMEOUT) "
                                       "although every rank still sends heartbeats; hint: every rank must call the same "
                                       "collectives in the same order with the same sizes",
                                       what, rank_, peer, o_.op_timeout_s),
                           peer);
  }
}

void fabric_collective::run(const std::vector<recv_step>& recvs, const std::vector<send_step>& sends, const void* region,
                            size_t region_bytes, const char* what, const void* send_region, size_t send_region_bytes) {
  // Staging slots for the receives that are summed: as many as can be in flight, no more (one
  // slice per chunk over shm makes a slot as large as the chunk).
  size_t slice_floats = 0, staged = 0;
  for (auto& r : recvs)
    if (!r.into) slice_floats = std::max(slice_floats, r.bytes / sizeof(float)), ++staged;
  const size_t slot_count = std::min(window, staged);
  if (slots_.size() < slot_count * slice_floats) slots_.assign(slot_count * slice_floats, 0.0f);
  // Registration is a no-op unless the provider asks for it (FI_MR_LOCAL).
  auto region_mr = ep_->register_memory(region, region_bytes);
  auto slots_mr = ep_->register_memory(slots_.data(), slots_.size() * sizeof(float));
  void* region_desc = fabric_endpoint::descriptor(region_mr.get());
  auto send_mr = send_region ? ep_->register_memory(send_region, send_region_bytes) : nullptr;
  void* send_desc = send_region ? fabric_endpoint::descriptor(send_mr.get()) : region_desc;
  void* slots_desc = fabric_endpoint::descriptor(slots_mr.get());

  std::vector<fabric_request> rreq(recvs.size()), sreq(sends.size());
  std::vector<char> arrived(recvs.size(), 0);
  std::vector<int> slot_of(recvs.size(), -1), free_slots;
  for (int s = int(slot_count) - 1; s >= 0; --s) free_slots.push_back(s);
  std::vector<fabric_request*> completed;
  size_t next_recv = 0, next_send = 0, recvs_done = 0, sends_done = 0, recvs_out = 0, sends_out = 0;
  wait_state wait;

  while (recvs_done < recvs.size() || sends_done < sends.size()) {
    while (next_recv < recvs.size() && recvs_out < window) {
      const recv_step& p = recvs[next_recv];
      if (p.after_recv >= 0 && !arrived[size_t(p.after_recv)]) break;
      if (p.bytes == 0) {  // both sides know a slice is empty: nothing travels
        arrived[next_recv++] = 1;
        ++recvs_done;
        continue;
      }
      void* buf = p.into;
      void* desc = region_desc;
      int slot = -1;
      if (!buf) {
        if (free_slots.empty()) break;
        slot = free_slots.back();
        buf = slots_.data() + size_t(slot) * slice_floats;
        desc = slots_desc;
      }
      fabric_request& r = rreq[next_recv];
      r.peer = p.peer;
      r.index = next_recv;
      if (!ep_->post_recv(r, buf, p.bytes, desc, p.tag)) break;
      if (slot >= 0) {
        free_slots.pop_back();
        slot_of[next_recv] = slot;
      }
      ++next_recv, ++recvs_out;
    }
    while (next_send < sends.size() && sends_out < window) {
      const send_step& p = sends[next_send];
      if (p.after_recv >= 0 && !arrived[size_t(p.after_recv)]) break;
      if (p.bytes == 0) {
        ++next_send, ++sends_done;
        continue;
      }
      fabric_request& r = sreq[next_send];
      r.peer = p.peer;
      r.index = next_send;
      if (!ep_->post_send(r, p.from, p.bytes, send_desc, p.tag)) break;
      ++next_send, ++sends_out;
    }
    completed.clear();
    int polled = poll(completed, what);
    if (polled > 0) {
      for (fabric_request* r : completed) {
        if (r->op == fabric_op::send) {
          --sends_out, ++sends_done;
          continue;
        }
        size_t i = r->index;
        if (int slot = slot_of[i]; slot >= 0) {
          add_into(recvs[i].reduce_into, slots_.data() + size_t(slot) * slice_floats, recvs[i].bytes / sizeof(float));
          if (recvs[i].copy_sum_to) std::memcpy(recvs[i].copy_sum_to, recvs[i].reduce_into, recvs[i].bytes);
          free_slots.push_back(slot);
        }
        arrived[i] = 1;
        --recvs_out, ++recvs_done;
      }
      wait.progressed();
      continue;
    }
    idle(wait, what, [&] {
      for (size_t i = 0; i < recvs.size(); ++i)
        if (!arrived[i]) return recvs[i].peer;
      return next_send < sends.size() ? sends[next_send].peer : -1;
    });
  }
}

void fabric_collective::ring(float* data, size_t n, bool reduce, bool gather, const char* what) {
  int w = world_, r = rank_;
  int next = (r + 1) % w, prev = (r + w - 1) % w;
  uint32_t seq = op_seq_++;
  size_t max_chunk = chunk_range(n, w, 0).size;
  int steps = (reduce ? w - 1 : 0) + (gather ? w - 1 : 0);
  // Slices of slice_bytes, but at least depth_ per step while they stay >= min_slice_bytes,
  // so that mid-sized buffers are pipelined too.
  size_t chunk_bytes = max_chunk * sizeof(float);
  size_t slice = std::clamp(chunk_bytes / depth_, std::min(min_slice_bytes, o_.slice_bytes), o_.slice_bytes);
  size_t slices = std::max<size_t>(1, (chunk_bytes + slice - 1) / slice);
  slices = std::min<size_t>(slices, (max_messages - 1) / size_t(std::max(steps, 1)));
  std::vector<recv_step> recvs;
  std::vector<send_step> sends;
  recvs.reserve(size_t(steps) * slices);
  sends.reserve(size_t(steps) * slices);
  auto mod = [w](int x) { return ((x % w) + w) % w; };
  for (int s = 0; s < steps; ++s) {
    // Reduce-scatter step s sends chunk r-s-1 and adds chunk r-s-2, so rank r ends with chunk r
    // complete; all-gather step s forwards chunk r-s and receives chunk r-s-1 in place.
    bool adding = reduce && s < w - 1;
    int g = adding ? s : s - (reduce ? w - 1 : 0);
    int send_chunk = adding ? mod(r - g - 1) : mod(r - g);
    int recv_chunk = adding ? mod(r - g - 2) : mod(r - g - 1);
    chunk sc = chunk_range(n, w, send_chunk), rc = chunk_range(n, w, recv_chunk);
    for (size_t j = 0; j < slices; ++j) {
      uint64_t m = uint64_t(s) * slices + j;
      chunk ss = chunk_range(sc.size, int(slices), int(j)), rs = chunk_range(rc.size, int(slices), int(j));
      float* rdst = data + rc.begin + rs.begin;
      recvs.push_back({prev, adding ? nullptr : rdst, adding ? rdst : nullptr, rs.size * sizeof(float), collective_tag(prev, seq, m)});
      sends.push_back({next, data + sc.begin + ss.begin, ss.size * sizeof(float), collective_tag(r, seq, m),
                       s == 0 ? -1 : long(m - slices)});
    }
  }
  run(recvs, sends, data, n * sizeof(float), what);
}

void fabric_collective::halving_doubling(float* data, size_t n, bool reduce, bool gather, const char* what) {
  int w = world_, r = rank_, levels = 0;
  while ((1 << levels) < w) ++levels;
  uint32_t seq = op_seq_++;
  // Every message is one slice of one chunk, so slices are sized from the chunk as in the ring.
  size_t chunk_bytes = chunk_range(n, w, 0).size * sizeof(float);
  size_t slice = std::clamp(chunk_bytes / depth_, std::min(min_slice_bytes, o_.slice_bytes), o_.slice_bytes);
  size_t slices = std::max<size_t>(1, (chunk_bytes + slice - 1) / slice);
  int steps = (reduce ? levels : 0) + (gather ? levels : 0);
  slices = std::min<size_t>(slices, (max_messages - 1) / (size_t(steps) * size_t(w)));
  // last_write[c * slices + j]: the receive that last changed slice j of chunk c (a send of it waits for that).
  std::vector<long> last_write(size_t(w) * slices, -1);
  std::vector<recv_step> recvs;
  std::vector<send_step> sends;
  auto exchange = [&](int step, int partner, int send_first, int recv_first, int count, bool adding) {
    for (int i = 0; i < count; ++i)
      for (size_t j = 0; j < slices; ++j) {
        uint64_t base = uint64_t(step) * uint64_t(w);
        int sc = send_first + i, rc = recv_first + i;
        chunk scr = chunk_range(n, w, sc), rcr = chunk_range(n, w, rc);
        chunk ss = chunk_range(scr.size, int(slices), int(j)), rs = chunk_range(rcr.size, int(slices), int(j));
        float* rdst = data + rcr.begin + rs.begin;
        sends.push_back({partner, data + scr.begin + ss.begin, ss.size * sizeof(float),
                         collective_tag(r, seq, (base + uint64_t(sc)) * slices + j), last_write[size_t(sc) * slices + j]});
        // Receives of one slice are chained: its sum must have every earlier step's addition in it
        // before a later send reads it (receives from different partners complete in any order).
        long& last = last_write[size_t(rc) * slices + j];
        recvs.push_back({partner, adding ? nullptr : rdst, adding ? rdst : nullptr, rs.size * sizeof(float),
                         collective_tag(partner, seq, (base + uint64_t(rc)) * slices + j), nullptr, last});
        last = long(recvs.size() - 1);
      }
  };
  int step = 0;
  if (reduce)
    // Recursive halving, highest bit first: keep the half of the chunks that holds chunk r, send the
    // other half to the partner across that bit and add what it sends for ours; rank r ends with chunk r.
    for (int bit = levels - 1; bit >= 0; --bit, ++step) {
      int half = 1 << bit, partner = r ^ half, keep = (r & ~(2 * half - 1)) | (r & half);
      exchange(step, partner, keep ^ half, keep, half, true);
    }
  if (gather)
    // Recursive doubling, lowest bit first: the aligned block of chunks this rank holds doubles.
    for (int bit = 0; bit < levels; ++bit, ++step) {
      int half = 1 << bit, partner = r ^ half, mine = r & ~(half - 1);
      exchange(step, partner, mine, mine ^ half, half, false);
    }
  run(recvs, sends, data, n * sizeof(float), what);
}

void fabric_collective::recursive_doubling(float* data, size_t n, const char* what) {
  int steps = 0;
  while ((1 << steps) < world_) ++steps;
  uint32_t seq = op_seq_++;
  size_t bytes = n * sizeof(float);
  size_t slice = std::clamp(bytes / depth_, std::min(min_slice_bytes, o_.slice_bytes), o_.slice_bytes);
  size_t slices = std::max<size_t>(1, (bytes + slice - 1) / slice);
  // Step k sends sent_[k] (a copy of data as it stood after step k-1) to rank ^ 2^k and adds what
  // comes back into data; the copy keeps a send's bytes fixed while data changes under it.
  sent_.resize(size_t(steps) * n);
  std::memcpy(sent_.data(), data, bytes);
  std::vector<recv_step> recvs;
  std::vector<send_step> sends;
  for (int k = 0; k < steps; ++k) {
    int partner = rank_ ^ (1 << k);
    for (size_t j = 0; j < slices; ++j) {
      chunk c = chunk_range(n, int(slices), int(j));
      uint64_t m = uint64_t(k) * slices + j;
      float* next_copy = k + 1 < steps ? sent_.data() + size_t(k + 1) * n + c.begin : nullptr;
      // Step k's sum of a slice must include step k-1's: its receive waits for that one.
      recvs.push_back({partner, nullptr, data + c.begin, c.size * sizeof(float), collective_tag(partner, seq, m), next_copy,
                       k == 0 ? -1 : long(m - slices)});
      sends.push_back({partner, sent_.data() + size_t(k) * n + c.begin, c.size * sizeof(float), collective_tag(rank_, seq, m),
                       k == 0 ? -1 : long(m - slices)});
    }
  }
  run(recvs, sends, data, bytes, what, sent_.data(), sent_.size() * sizeof(float));
}

bool fabric_collective::use_halving_doubling() const {
  return (world_ & (world_ - 1)) == 0 && o_.algorithm != "ring";
}

bool fabric_collective::use_one_sided(size_t bytes, bool all_reduce) const {
  if (o_.algorithm == "one_sided") return true;
  return o_.algorithm == "auto" && all_reduce && ep_->supports_rma() && world_ >= one_sided_min_world &&
         bytes >= one_sided_min_bytes && bytes <= one_sided_max_bytes;
}

void fabric_collective::all_reduce_sum(float* data, size_t n) {
  if (world_ == 1) return;
  if (use_one_sided(n * sizeof(float), true))
    guarded([&] { one_sided(data, n, true, true, "all_reduce"); });
  else if (use_halving_doubling() && o_.algorithm == "auto" && n * sizeof(float) <= recursive_doubling_max_bytes)
    guarded([&] { recursive_doubling(data, n, "all_reduce"); });
  else if (use_halving_doubling())
    guarded([&] { halving_doubling(data, n, true, true, "all_reduce"); });
  else
    guarded([&] { ring(data, n, true, true, "all_reduce"); });
}

void fabric_collective::reduce_scatter_sum(float* data, size_t n) {
  if (world_ == 1) return;
  if (use_one_sided(n * sizeof(float), false))
    guarded([&] { one_sided(data, n, true, false, "reduce_scatter"); });
  else if (use_halving_doubling())
    guarded([&] { halving_doubling(data, n, true, false, "reduce_scatter"); });
  else
    guarded([&] { ring(data, n, true, false, "reduce_scatter"); });
}

void fabric_collective::all_gather(float* data, size_t n) {
  if (world_ == 1) return;
  if (use_one_sided(n * sizeof(float), false))
    guarded([&] { one_sided(data, n, false, true, "all_gather"); });
  else if (use_halving_doubling())
    guarded([&] { halving_doubling(data, n, false, true, "all_gather"); });
  else
    guarded([&] { ring(data, n, false, true, "all_gather"); });
}

void fabric_collective::broadcast(void* data, size_t bytes, int root) {
  check_peer(root, "broadcast");
  if (world_ == 1) return;
  guarded([&] {
    // A chain root -> root+1 -> ... -> root-1, pipelined in slices.
    int pos = (rank_ - root + world_) % world_;
    int next = (rank_ + 1) % world_, prev = (rank_ + world_ - 1) % world_;
    uint32_t seq = op_seq_++;
    size_t slices = std::max<size_t>(1, (bytes + o_.slice_bytes - 1) / o_.slice_bytes);
    slices = std::min<size_t>(slices, max_messages - 1);
    auto* base = static_cast<char*>(data);
    std::vector<recv_step> recvs;
    std::vector<send_step> sends;
    for (size_t j = 0; j < slices; ++j) {
      chunk c = chunk_range(bytes, int(slices), int(j));
      if (pos != 0) recvs.push_back({prev, base + c.begin, nullptr, c.size, collective_tag(prev, seq, j)});
      if (pos != world_ - 1) sends.push_back({next, base + c.begin, c.size, collective_tag(rank_, seq, j), pos == 0 ? -1 : long(j)});
    }
    run(recvs, sends, data, bytes, "broadcast");
  });
}

void fabric_collective::barrier() {
  if (world_ == 1) return;
  // One element per rank: every ring step carries a message, so nobody leaves before all arrived.
  std::vector<float> token(size_t(world_), 0.0f);
  guarded([&] { ring(token.data(), token.size(), true, true, "barrier"); });
}

void fabric_collective::send(const void* data, size_t bytes, int peer, uint32_t tag) {
  check_peer(peer, "send");
  if (tag >= max_user_tag) throw std::invalid_argument(fmt::format("send: tag {} is too large (expected < {})", tag, max_user_tag));
  guarded([&] {
    size_t slices = std::max<size_t>(1, (bytes + o_.slice_bytes - 1) / o_.slice_bytes);
    uint32_t& count = send_seq_[{peer, tag}];
    std::vector<send_step> sends;
    for (size_t j = 0; j < slices; ++j) {
      chunk c = chunk_range(bytes, int(slices), int(j));
      sends.push_back({peer, static_cast<const char*>(data) + c.begin, c.size, p2p_tag(rank_, tag, count++), -1});
    }
    run({}, sends, data, bytes, "send");
  });
}

void fabric_collective::recv(void* data, size_t bytes, int peer, uint32_t tag) {
  check_peer(peer, "recv");
  if (tag >= max_user_tag) throw std::invalid_argument(fmt::format("recv: tag {} is too large (expected < {})", tag, max_user_tag));
  guarded([&] {
    size_t slices = std::max<size_t>(1, (bytes + o_.slice_bytes - 1) / o_.slice_bytes);
    uint32_t& count = recv_seq_[{peer, tag}];
    std::vector<recv_step> recvs;
    for (size_t j = 0; j < slices; ++j) {
      chunk c = chunk_range(bytes, int(slices), int(j));
      recvs.push_back({peer, static_cast<char*>(data) + c.begin, nullptr, c.size, p2p_tag(peer, tag, count++)});
    }
    run(recvs, {}, data, bytes, "recv");
  });
}

// A batch of transfers posted together (run() waits for all of them). The payloads go through two
// contiguous staging buffers so that providers that need registered memory (FI_MR_LOCAL, as efa)
// register one region per direction instead of one per buffer; pipeline messages are activations
// of one microbatch, for which the extra copy is small next to the transfer.
void fabric_collective::send_recv(const std::vector<p2p_op>& ops) {
  size_t out_bytes = 0, in_bytes = 0;
  for (auto& o : ops) {
    check_peer(o.peer, o.send ? "send" : "recv");
    if (o.tag >= max_user_tag)
      throw std::invalid_argument(fmt::format("send_recv: tag {} is too large (expected < {})", o.tag, max_user_tag));
    (o.send ? out_bytes : in_bytes) += o.bytes;
  }
  guarded([&] {
    batch_out_.resize(out_bytes);
    batch_in_.resize(in_bytes);
    std::vector<send_step> sends;
    std::vector<recv_step> recvs;
    size_t out_at = 0, in_at = 0;
    for (auto& o : ops) {
      size_t slices = std::max<size_t>(1, (o.bytes + o_.slice_bytes - 1) / o_.slice_bytes);
      if (o.send) {
        std::memcpy(batch_out_.data() + out_at, o.data, o.bytes);
        uint32_t& count = send_seq_[{o.peer, o.tag}];
        for (size_t j = 0; j < slices; ++j) {
          chunk c = chunk_range(o.bytes, int(slices), int(j));
          sends.push_back({o.peer, batch_out_.data() + out_at + c.begin, c.size, p2p_tag(rank_, o.tag, count++), -1});
        }
        out_at += o.bytes;
      } else {
        uint32_t& count = recv_seq_[{o.peer, o.tag}];
        for (size_t j = 0; j < slices; ++j) {
          chunk c = chunk_range(o.bytes, int(slices), int(j));
          recvs.push_back({o.peer, batch_in_.data() + in_at + c.begin, nullptr, c.size, p2p_tag(o.peer, o.tag, count++)});
        }
        in_at += o.bytes;
      }
    }
    run(recvs, sends, batch_in_.data(), batch_in_.size(), "send_recv", batch_out_.data(), batch_out_.size());
    in_at = 0;
    for (auto& o : ops)
      if (!o.send) {
        std::memcpy(o.data, batch_in_.data() + in_at, o.bytes);
        in_at += o.bytes;
      }
  });
}

}  // namespace wb
