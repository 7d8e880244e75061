// Reverse-mode autograd over a tape: ops run eagerly on a backend and, when the tape records,
// append a node holding the gradient slots of their inputs and output plus the tensors their
// backward reads (backward_needs in op.hpp). A tensor no longer referenced by the model code or a
// node is freed at once, so saved activations are exactly what backward needs. backward() walks
// the nodes in reverse and drops each once used: peak memory is that of a real training step.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor/backend.hpp"

namespace wb {

// Autograd's part of a value, shared by the value and the nodes that read or produce it.
// Parameter grads are set by their owner (views of a gradient arena); other grads are allocated,
// zeroed, in `temporaries` when first needed during backward.
struct grad_slot {
  tensor grad;
  shape_t shape;
  bool requires_grad = false;
};

// A tensor in the graph: its data (held by model code while it uses it) and its gradient slot.
struct value {
  tensor data;
  std::shared_ptr<grad_slot> slot;
  tensor& grad() const { return slot->grad; }
  bool requires_grad() const { return slot->requires_grad; }
};
using var = std::shared_ptr<value>;
var make_var(tensor data, bool requires_grad = false);

struct tape_node {
  op_call call;
  std::vector<std::shared_ptr<grad_slot>> inputs;
  std::shared_ptr<grad_slot> output;
  // Views and checkpoints: a backward rule in core instead of a backend kernel.
  std::function<void(tape_node&)> custom_backward;
  // A layer mark (mark_layer): no op, only this call when backward reaches it.
  std::function<void()> reached;
};

// Backward's per-layer events, for an optimizer that takes each layer's gradients as soon as they
// are final (ZeRO-2's buckets, core/parallel/zero2.hpp). Model code brackets each layer's forward
// with mark_layer(l, true) and mark_layer(l, false); backward calls entered(l) when it reaches the
// layer's last op, before any of the layer's gradients is written, and finished(l) once its first
// op is done, when the gradients of the parameters the layer alone reads are final.
struct layer_hooks {
  std::function<void(int layer)> entered, finished;
};

class tape {
 public:
  explicit tape(compute_backend& backend, bool recording = true) : backend_(&backend), recording_(recording) {}
  compute_backend& backend() const { return *backend_; }
  bool recording() const { return recording_; }

  // Runs c forward on the backend; records it if any input requires grad and the tape records.
  var run(op_call c, const std::vector<var>& inputs);
  void record_custom(const std::vector<var>& inputs, const var& output, std::function<void(tape_node&)> rule);
  // Layer marks reach `hooks` (which must outlive backward) only when set before the forward pass
  // and the tape records; otherwise mark_layer records nothing.
  void set_layer_hooks(const layer_hooks* hooks) { hooks_ = hooks; }
  void mark_layer(int layer, bool begin);

  // Seeds root's gradient (`seed` for a one-element root, or a tensor of root's shape), runs every
  // node backward and empties the tape.
  void backward(const var& root, float seed = 1.0f);
  void backward(const var& root, const tensor& seed);
  size_t size() const { return nodes_.size(); }
  void clear() { nodes_.clear(); }

 private:
  compute_backend* backend_;
  bool recording_;
  const layer_hooks* hooks_ = nullptr;
  std::vector<tape_node> nodes_;
};

// g added into the slot's gradient; when it has none yet it adopts g's buffer instead of copying.
void accumulate_grad(grad_slot& s, const tensor& g);

}  // namespace wb
