// fabric_endpoint: the setup order the mature libfabric users follow (fi_getinfo -> fabric ->
// domain -> CQ -> AV -> endpoint -> bind -> enable; shared/reference/libfabric.md), and the
// completion loop.
#include "backends/fabric/fabric_endpoint.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <unistd.h>

#include <fmt/format.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

#include "backends/fabric/fabric_options.hpp"
#include "core/parallel/collective.hpp"

namespace wb {

fabric_endpoint::registration::~registration() {
  if (mr) fi_close(&mr->fid);
}

namespace {

std::runtime_error fabric_failure(const std::string& what, int ret) {
  return std::runtime_error(fmt::format("libfabric: {} failed: {} ({})", what, fi_strerror(-ret), ret));
}

// The RDM+tagged providers this libfabric offers, for the error when the asked one is missing.
std::string offered_providers() {
  fi_info* hints = fi_allocinfo();
  hints->ep_attr->type = FI_EP_RDM;
  hints->caps = FI_TAGGED;
  fi_info* list = nullptr;
  std::string names;
  if (fi_getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), nullptr, nullptr, 0, hints, &list) == 0) {
    for (fi_info* i = list; i; i = i->next) {
      std::string n = i->fabric_attr->prov_name;
      if (names.find(n) == std::string::npos) names += (names.empty() ? "" : ", ") + n;
    }
    fi_freeinfo(list);
  }
  fi_freeinfo(hints);
  return names.empty() ? "none" : names;
}

}  // namespace

fabric_endpoint::fabric_endpoint(const std::string& provider, size_t largest_message)
    : provider_name_(fabric_provider_name(provider)) {
  // ofi_rxm reads its parameters when the provider first initializes, so this only takes effect
  // before the process's first fi_getinfo (the usual case: one endpoint per rank process). Its
  // default eager limit is 16 KiB, with rendezvous above 128 KiB (shared/reference/libfabric.md);
  // bench/collectives on 2026-11-23, 4 ranks over tcp on 2 cores: 10-45% more bus bandwidth at 1-16
  // MiB with every slice eager.
  if (provider_name_ == "tcp;ofi_rxm" && largest_message > 0 && !std::getenv("FI_OFI_RXM_EAGER_LIMIT"))
    ::setenv("FI_OFI_RXM_EAGER_LIMIT", std::to_string(largest_message).c_str(), 0);
  // tcp: the endpoint's port is chosen when fi_getinfo runs and bound at fi_enable; another process
  // on the machine can take it in between (seen with 8 ranks while other tests opened endpoints:
  // "fi_enable failed: Address already in use"). A fresh fi_getinfo picks another port.
  // RMA only on shm, where a completed write is in the target's memory (supports_rma); an shm
  // without it still runs every collective over tagged messages.
  bool with_rma = provider_name_ == "shm";
  for (int attempt = 1;; ++attempt) {
    if (open(with_rma)) break;
    close();
    if (attempt == 5) throw fabric_failure("fi_enable", -FI_EADDRINUSE);
  }
}

bool fabric_endpoint::open(bool& with_rma) {
  fi_info* hints = fi_allocinfo();
  hints->ep_attr->type = FI_EP_RDM;
  hints->caps = FI_TAGGED | (with_rma ? FI_RMA : 0);
  hints->mode = FI_CONTEXT | FI_CONTEXT2;
  // Offer every registration mode; only FI_MR_LOCAL changes what we do (register buffers).
  hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT |
                                FI_MR_RAW | FI_MR_MMU_NOTIFY | FI_MR_RMA_EVENT | FI_MR_HMEM;
  hints->domain_attr->threading = FI_THREAD_DOMAIN;
  hints->fabric_attr->prov_name = strdup(provider_name_.c_str());
  if (provider_name_ == "shm") {
    // shm names its region in /dev/shm after the pid by default, and a rank killed with SIGKILL leaves
    // its region behind; a later process that gets the same pid then finds a region whose owner
    // (itself) is alive and fi_enable fails with EBUSY (libfabric 1.17 smr_retry_map). A name that
    // also carries the time never meets a stale one.
    std::string name = fmt::format("fi_shm://wb_{}_{}", ::getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
    hints->addr_format = FI_ADDR_STR;
    hints->src_addr = strdup(name.c_str());
    hints->src_addrlen = name.size() + 1;
  }
  // No RMA ordering is asked for (hints->tx_attr->msg_order stays 0): with FI_MR_VIRT_ADDR offered,
  // that is what lets shm do an RMA as one process_vm_readv/writev by the initiator ("fast RMA",
  // libfabric 1.17 prov/shm/src/smr_rma.c) instead of a request the target must progress.
  int ret = fi_getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), nullptr, nullptr, 0, hints, &info_);
  if ((ret != 0 || !info_) && with_rma) {
    hints->caps = FI_TAGGED;
    with_rma = false;
    ret = fi_getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), nullptr, nullptr, 0, hints, &info_);
  }
  fi_freeinfo(hints);
  if (ret != 0 || !info_)
    throw std::runtime_error(fmt::format("libfabric has no reliable-datagram tagged endpoint for provider '{}': {}; "
                                         "providers offered here: {}; hint: set FI_PROVIDER to one of them (tcp means tcp;ofi_rxm)",
                                         provider_name_, fi_strerror(-ret), offered_providers()));
  mr_local_ = (info_->domain_attr->mr_mode & FI_MR_LOCAL) != 0;
  rma_ = with_rma && (info_->caps & FI_RMA);
  max_msg_ = info_->ep_attr->max_msg_size;
  if ((ret = fi_fabric(info_->fabric_attr, &fabric_, nullptr))) throw fabric_failure("fi_fabric", ret);
  if ((ret = fi_domain(fabric_, info_, &domain_, nullptr))) throw fabric_failure("fi_domain", ret);
  fi_cq_attr cq_attr{};
  cq_attr.format = FI_CQ_FORMAT_TAGGED;
  cq_attr.size = 4096;
  cq_attr.wait_obj = FI_WAIT_NONE;
  if ((ret = fi_cq_open(domain_, &cq_attr, &cq_, nullptr))) throw fabric_failure("fi_cq_open", ret);
  fi_av_attr av_attr{};
  av_attr.type = FI_AV_TABLE;
  if ((ret = fi_av_open(domain_, &av_attr, &av_, nullptr))) throw fabric_failure("fi_av_open", ret);
  if ((ret = fi_endpoint(domain_, info_, &ep_, nullptr))) throw fabric_failure("fi_endpoint", ret);
  if ((ret = fi_ep_bind(ep_, &cq_->fid, FI_TRANSMIT | FI_RECV))) throw fabric_failure("fi_ep_bind(cq)", ret);
  if ((ret = fi_ep_bind(ep_, &av_->fid, 0))) throw fabric_failure("fi_ep_bind(av)", ret);
  if ((ret = fi_enable(ep_))) {
    if (ret == -FI_EADDRINUSE) return false;
    throw fabric_failure("fi_enable", ret);
  }
  return true;
}

fabric_endpoint::~fabric_endpoint() { close(); }

void fabric_endpoint::close() {
  if (ep_) fi_close(&ep_->fid);
  if (av_) fi_close(&av_->fid);
  if (cq_) fi_close(&cq_->fid);
  if (domain_) fi_close(&domain_->fid);
  if (fabric_) fi_close(&fabric_->fid);
  if (info_) fi_freeinfo(info_);
  ep_ = nullptr, av_ = nullptr, cq_ = nullptr, domain_ = nullptr, fabric_ = nullptr, info_ = nullptr;
}

std::vector<char> fabric_endpoint::name() const {
  size_t len = 0;
  fi_getname(&ep_->fid, nullptr, &len);  // -FI_ETOOSMALL, sets len
  std::vector<char> blob(len);
  if (int ret = fi_getname(&ep_->fid, blob.data(), &len)) throw fabric_failure("fi_getname", ret);
  blob.resize(len);
  return blob;
}

void fabric_endpoint::insert_peers(const std::vector<std::vector<char>>& names) {
  for (size_t r = 0; r < names.size(); ++r) {
    fi_addr_t a = FI_ADDR_NOTAVAIL;
    int n = fi_av_insert(av_, names[r].data(), 1, &a, 0, nullptr);
    if (n != 1) throw fabric_failure(fmt::format("fi_av_insert(rank {})", r), n < 0 ? n : -FI_EINVAL);
    if (a != fi_addr_t(r))
      throw std::runtime_error(fmt::format("libfabric: rank {} got fabric address {}; an AV table must number them in order", r, a));
  }
}

bool fabric_endpoint::post_send(fabric_request& r, const void* buf, size_t len, void* desc, uint64_t tag) {
  ssize_t ret = fi_tsend(ep_, buf, len, desc, fi_addr_t(r.peer), tag, &r.ctx);
  if (ret == -FI_EAGAIN) return false;
  if (ret) throw collective_error(fmt::format("libfabric: sending {} bytes to rank {} failed: {}", len, r.peer, fi_strerror(int(-ret))), r.peer);
  r.op = fabric_op::send;
  r.done = false;
  return true;
}

bool fabric_endpoint::post_recv(fabric_request& r, void* buf, size_t len, void* desc, uint64_t tag) {
  // The sender's rank is part of the tag, so any source address matches (no FI_DIRECTED_RECV needed).
  ssize_t ret = fi_trecv(ep_, buf, len, desc, FI_ADDR_UNSPEC, tag, 0, &r.ctx);
  if (ret == -FI_EAGAIN) return false;
  if (ret) throw collective_error(fmt::format("libfabric: receiving {} bytes from rank {} failed: {}", len, r.peer, fi_strerror(int(-ret))), r.peer);
  r.op = fabric_op::recv;
  r.done = false;
  return true;
}

bool fabric_endpoint::post_read(fabric_request& r, void* buf, size_t len, void* desc, uint64_t remote_addr, uint64_t key) {
  ssize_t ret = fi_read(ep_, buf, len, desc, fi_addr_t(r.peer), remote_addr, key, &r.ctx);
  if (ret == -FI_EAGAIN) return false;
  if (ret) throw collective_error(fmt::format("libfabric: reading {} bytes from rank {} failed: {}", len, r.peer, fi_strerror(int(-ret))), r.peer);
  r.op = fabric_op::read;
  r.done = false;
  return true;
}

bool fabric_endpoint::post_write(fabric_request& r, const void* buf, size_t len, void* desc, uint64_t remote_addr, uint64_t key) {
  ssize_t ret = fi_write(ep_, buf, len, desc, fi_addr_t(r.peer), remote_addr, key, &r.ctx);
  if (ret == -FI_EAGAIN) return false;
  if (ret) throw collective_error(fmt::format("libfabric: writing {} bytes to rank {} failed: {}", len, r.peer, fi_strerror(int(-ret))), r.peer);
  r.op = fabric_op::write;
  r.done = false;
  return true;
}

int fabric_endpoint::poll(std::vector<fabric_request*>& completed) {
  fi_cq_tagged_entry entries[32];
  ssize_t n = fi_cq_read(cq_, entries, 32);
  if (n > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      auto* r = static_cast<fabric_request*>(entries[i].op_context);
      r->done = true;
      completed.push_back(r);
    }
    return int(n);
  }
  if (n == -FI_EAGAIN) return 0;
  if (n == -FI_EAVAIL) {
    fi_cq_err_entry err{};
    fi_cq_readerr(cq_, &err, 0);
    // shm reports a failed fast RMA (its process_vm_readv/writev on a dead peer) without a context.
    auto* r = static_cast<fabric_request*>(err.op_context);
    int peer = r ? r->peer : -1;
    char detail[256] = "";
    fi_cq_strerror(cq_, err.prov_errno, err.err_data, detail, sizeof detail);
    static const char* const names[] = {"send to", "receive from", "read from", "write to"};
    std::string op = r ? fmt::format("{} rank {}", names[int(r->op)], peer) : "transfer";
    throw collective_error(fmt::format("libfabric: a {} failed: {} ({})", op, fi_strerror(err.err), detail), peer);
  }
  throw collective_error(fmt::format("libfabric: fi_cq_read failed: {}", fi_strerror(int(-n))), -1);
}

std::unique_ptr<fabric_endpoint::registration> fabric_endpoint::register_memory(const void* buf, size_t len) {
  auto r = std::make_unique<registration>();
  if (!mr_local_ || len == 0) return r;
  int ret = fi_mr_reg(domain_, buf, len, FI_SEND | FI_RECV, 0, 0, 0, &r->mr, nullptr);
  if (ret) throw fabric_failure("fi_mr_reg", ret);
  if (info_->domain_attr->mr_mode & FI_MR_ENDPOINT) {
    if ((ret = fi_mr_bind(r->mr, &ep_->fid, 0))) throw fabric_failure("fi_mr_bind", ret);
    if ((ret = fi_mr_enable(r->mr))) throw fabric_failure("fi_mr_enable", ret);
  }
  return r;
}

void* fabric_endpoint::descriptor(const registration* r) { return r && r->mr ? fi_mr_desc(r->mr) : nullptr; }

fabric_endpoint::remote_region fabric_endpoint::register_remote(void* buf, size_t len) {
  remote_region out;
  out.mr = std::make_unique<registration>();
  if (!rma_) throw std::logic_error("register_remote: the endpoint has no RMA");
  uint64_t access = FI_REMOTE_READ | FI_REMOTE_WRITE | FI_READ | FI_WRITE;
  int ret = fi_mr_reg(domain_, buf, std::max<size_t>(len, 1), access, 0, next_key_++, 0, &out.mr->mr, nullptr);
  if (ret) throw fabric_failure("fi_mr_reg", ret);
  if (info_->domain_attr->mr_mode & FI_MR_ENDPOINT) {
    if ((ret = fi_mr_bind(out.mr->mr, &ep_->fid, 0))) throw fabric_failure("fi_mr_bind", ret);
    if ((ret = fi_mr_enable(out.mr->mr))) throw fabric_failure("fi_mr_enable", ret);
  }
  out.key = fi_mr_key(out.mr->mr);
  out.addr = (info_->domain_attr->mr_mode & FI_MR_VIRT_ADDR) ? uint64_t(reinterpret_cast<uintptr_t>(buf)) : 0;
  return out;
}

}  // namespace wb
