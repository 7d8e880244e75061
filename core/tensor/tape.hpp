// Reverse-mode autograd over a tape: ops run eagerly on a backend and, when the tape records,
// append a node holding their inputs, output and saved tensors. backward() walks the nodes in
// reverse, accumulating gradients; each node is dropped once used, so activations and
// intermediate gradients are freed as the walk goes (peak memory is that of a real training step).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor/backend.hpp"

namespace wb {

// A tensor in the graph. Parameter grads are set by their owner (views of a gradient arena);
// other grads are allocated, zeroed, in `temporaries` when first needed during backward.
struct value {
  tensor data, grad;
  bool requires_grad = false;
};
using var = std::shared_ptr<value>;
var make_var(tensor data, bool requires_grad = false);

struct tape_node {
  op_call call;
  std::vector<var> inputs;
  var output;
  // Views and checkpoints: a backward rule in core instead of a backend kernel.
  std::function<void(tape_node&)> custom_backward;
};

class tape {
 public:
  explicit tape(compute_backend& backend, bool recording = true) : backend_(&backend), recording_(recording) {}
  compute_backend& backend() const { return *backend_; }
  bool recording() const { return recording_; }

  // Runs c forward on the backend; records it if any input requires grad and the tape records.
  var run(op_call c, std::vector<var> inputs);
  void record_custom(std::vector<var> inputs, var output, std::function<void(tape_node&)> rule);

  // Seeds root's gradient (`seed` for a one-element root, or a tensor of root's shape), runs every
  // node backward and empties the tape.
  void backward(const var& root, float seed = 1.0f);
  void backward(const var& root, const tensor& seed);
  size_t size() const { return nodes_.size(); }
  void clear() { nodes_.clear(); }

 private:
  compute_backend* backend_;
  bool recording_;
  std::vector<tape_node> nodes_;
};

// g added into v's gradient; when v has none yet it adopts g's buffer instead of copying.
void accumulate_grad(const var& v, const tensor& g);

}  // namespace wb
