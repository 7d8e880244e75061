// The compute role of a backend: run one op forward or backward on tensors it can address.
// Optional methods and their defaults: set_threads (default: ignored, for single-threaded
// backends); supports (default: none, so a backend claims each op it implements). A collective
// role (allreduce, ...) is a separate interface, not part of this one.
#pragma once
#include <string>
#include <vector>

#include "core/tensor/op.hpp"

namespace wb {

class compute_backend {
 public:
  virtual ~compute_backend() = default;
  virtual std::string name() const = 0;
  virtual bool supports(op_kind op) const { return false; }
  virtual void set_threads(int threads) {}
  virtual int threads() const { return 1; }

  // Fills c.out and c.saved (preallocated by the caller).
  virtual void forward(op_call& c) = 0;
  // Accumulates (+=) the gradient of c.out, dout, into din[i] for every defined din[i]
  // (din.size() == c.in.size(); undefined entries need no gradient).
  virtual void backward(const op_call& c, const tensor& dout, std::vector<tensor>& din) = 0;
};

}  // namespace wb
