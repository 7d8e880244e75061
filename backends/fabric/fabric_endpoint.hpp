// One libfabric reliable-datagram endpoint with tagged messages, its completion queue and an
// address vector in which fabric address i is rank i. Posting never blocks: a post that the
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
struct fabric_request {
  fi_context2 ctx;
  int peer = -1;
  bool is_send = false;
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

  size_t max_message_bytes() const { return max_msg_; }
  const std::string& provider_name() const { return provider_name_; }

 private:
  bool open();   // false when fi_enable finds the address taken
  void close();  // releases whatever open() made
  std::string provider_name_;
  fi_info* info_ = nullptr;
  fid_fabric* fabric_ = nullptr;
  fid_domain* domain_ = nullptr;
  fid_cq* cq_ = nullptr;
  fid_av* av_ = nullptr;
  fid_ep* ep_ = nullptr;
  bool mr_local_ = false;
  size_t max_msg_ = 0;
};

}  // namespace wb
