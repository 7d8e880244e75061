// One libfabric reliable-datagram endpoint with tagged messages (and RMA where the provider offers
// it), its completion queue and an address vector in which fabric address i is rank i. Posting never blocks: a post that the
// provider refuses for now (-FI_EAGAIN) returns false and the caller drives progress (poll) and
// retries. Progress is manual on every provider we use (shm, tcp;ofi_rxm, efa), so nothing moves
// unless someone polls. Used from one thread only (FI_THREAD_DOMAIN).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rdma/fabric.h>

namespace wb {

// One posted operation. ctx must stay first and the object must not move until it completes:
// the provider hands the context pointer back in the completion.
enum class fabric_op { send, recv, read, write };
struct fabric_request {
  fi_context2 ctx;
  int peer = -1;
  fabric_op op = fabric_op::send;
  bool done = false;
  size_t index = 0;  // the caller's own bookkeeping
};

class fabric_endpoint {
 public:
  // provider: "shm", "tcp" (tcp;ofi_rxm) or "efa". Throws std::runtime_error naming the provider
  // and what libfabric said, with the providers it does offer. largest_message: the biggest message
  // the caller will post; over tcp;ofi_rxm messages up to it are sent eagerly (FI_OFI_RXM_EAGER_LIMIT,
  // unless the environment already sets it) instead of by rendezvous, whose extra round trips each
  // wait for the receiving process to be scheduled.
  explicit fabric_endpoint(const std::string& provider, size_t largest_message = 0);
  ~fabric_endpoint();
  fabric_endpoint(const fabric_endpoint&) = delete;
  fabric_endpoint& operator=(const fabric_endpoint&) = delete;

  std::vector<char> name() const;                               // this endpoint's address blob
  void insert_peers(const std::vector<std::vector<char>>& names);  // in rank order

  bool post_send(fabric_request& r, const void* buf, size_t len, void* desc, uint64_t tag);
  bool post_recv(fabric_request& r, void* buf, size_t len, void* desc, uint64_t tag);
  // One-sided (needs supports_rma()): copy len bytes between buf here and the peer's memory at
  // remote_addr under key (from the peer's register_remote). Completes on this side only: the peer
  // takes no part and is not told.
  bool post_read(fabric_request& r, void* buf, size_t len, void* desc, uint64_t remote_addr, uint64_t key);
  bool post_write(fabric_request& r, const void* buf, size_t len, void* desc, uint64_t remote_addr, uint64_t key);
  // Reads what has completed, sets done on those requests and appends them to `completed`;
  // returns how many. A completion error throws collective_error naming the request's peer.
  int poll(std::vector<fabric_request*>& completed);

  // Memory registration, needed only when the provider asks for it (FI_MR_LOCAL, e.g. efa-direct).
  bool needs_registration() const { return mr_local_; }
  struct registration {
    fid_mr* mr = nullptr;  // null when the provider needs no registration
    registration() = default;
    registration(const registration&) = delete;
    ~registration();
  };
  std::unique_ptr<registration> register_memory(const void* buf, size_t len);
  static void* descriptor(const registration* r);

  // RMA: the endpoint has FI_RMA, and a write's completion means the bytes are in the target's
  // memory (shm: the initiator itself copies them with process_vm_writev before completing), so a
  // message sent after it cannot overtake it. Only then do the one-sided collectives run.
  bool supports_rma() const { return rma_; }
  // Registers buf for peers to read and write. addr and key are what a peer passes to post_read /
  // post_write: the virtual address (FI_MR_VIRT_ADDR) or the offset into the region, and its key.
  struct remote_region {
    std::unique_ptr<registration> mr;
    uint64_t addr = 0, key = 0;
  };
  remote_region register_remote(void* buf, size_t len);

  size_t max_message_bytes() const { return max_msg_; }
  const std::string& provider_name() const { return provider_name_; }

 private:
  // false when fi_enable finds the address taken; with_rma turns false when the provider has no RMA.
  bool open(bool& with_rma);
  void close();  // releases whatever open() made
  std::string provider_name_;
  fi_info* info_ = nullptr;
  fid_fabric* fabric_ = nullptr;
  fid_domain* domain_ = nullptr;
  fid_cq* cq_ = nullptr;
  fid_av* av_ = nullptr;
  fid_ep* ep_ = nullptr;
  bool mr_local_ = false;
  bool rma_ = false;
  uint64_t next_key_ = 1;  // requested keys must be unique in the domain unless FI_MR_PROV_KEY
  size_t max_msg_ = 0;
};

}  // namespace wb
