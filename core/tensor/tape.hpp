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

// An input that nodes read in backward but the tape does not keep: `rebuild` makes it again, and
// backward hands the result to `uses` (node index, input index) before the first of them runs.
struct rebuilt_input {
  std::function<tensor()> rebuild;
  std::vector<std::pair<size_t, size_t>> uses;
};

struct tape_node {
  op_call call;
  std::vector<std::shared_ptr<grad_slot>> inputs;
  std::shared_ptr<grad_slot> output;
  // Views and checkpoints: a backward rule in core instead of a backend kernel.
  std::function<void(tape_node&)> custom_backward;
  // A layer mark (mark_layer): no op, only this call when backward reaches it.
  std::function<void()> reached;
  // Set on the last-recorded node that keeps a rebuilt-in-backward input (tape::rebuild_in_backward):
  // backward rebuilds it before running this node.
  std::shared_ptr<rebuilt_input> rebuild;
};

// Backward's per-layer events, for an optimizer that takes each layer's gradients as soon as they
// are final (in core/parallel: ZeRO-2's buckets, zero2.hpp; the overlapped reduction,
// grad_reduce_overlap.hpp; ZeRO-3's gathers, zero3.hpp). Model code brackets each layer's forward
// with mark_layer(l, true) and mark_layer(l, false); backward calls entered(l) when it reaches the
// layer's last op, before any of the layer's gradients is written, and finished(l) once its first
// op is done, when the gradients of the parameters the layer alone reads are final.
// In the forward pass, before_forward(l) runs at mark_layer(l, true) and after_forward(l) at
// mark_layer(l, false), whether or not the tape records (ZeRO-3 gathers a layer's parameters for
// its forward and frees them after: core/parallel/zero3.hpp).
struct layer_hooks {
  std::function<void(int layer)> entered, finished;
  std::function<void(int layer)> before_forward, after_forward;
};

class tape {
 public:
  explicit tape(compute_backend& backend, bool recording = true) : backend_(&backend), recording_(recording) {}
  compute_backend& backend() const { return *backend_; }
  bool recording() const { return recording_; }

  // Runs c forward on the backend; records it if any input requires grad and the tape records.
  var run(op_call c, const std::vector<var>& inputs);
  void record_custom(const std::vector<var>& inputs, const var& output, std::function<void(tape_node&)> rule);
  // Layer marks reach `hooks` (which must outlive backward) only when set before the forward pass;
  // mark_layer calls the forward hooks at once and records the backward ones if the tape records.
  void set_layer_hooks(const layer_hooks* hooks) { hooks_ = hooks; }
  void mark_layer(int layer, bool begin);
  // Activation memory for communication (Megatron-LM's sequence-parallel linears keep their input's
  // block and gather it again in backward): the nodes that read x stop keeping x's data, so it is
  // freed once the forward pass drops it; backward calls `rebuild` (which must give x's values
  // again) just before the first of those nodes runs, and frees the result after the last. Call
  // when x is made; the readers are found at the next mark_layer and at the start of backward, so
  // x must be read only before then. Nothing when the tape does not record.
  void rebuild_in_backward(const var& x, std::function<tensor()> rebuild);

  // Seeds root's gradient (`seed` for a one-element root, or a tensor of root's shape), runs every
  // node backward and empties the tape.
  void backward(const var& root, float seed = 1.0f);
  void backward(const var& root, const tensor& seed);
  size_t size() const { return nodes_.size(); }
  void clear() { nodes_.clear(); }

 private:
  compute_backend* backend_;
  bool recording_;
  // rebuild_in_backward's inputs whose readers are not yet found: x's slot and data, and the rule.
  struct pending_rebuild {
    std::shared_ptr<grad_slot> slot;
    tensor data;
    std::shared_ptr<rebuilt_input> rule;
  };
  void find_rebuilt_readers();

  const layer_hooks* hooks_ = nullptr;
  std::vector<tape_node> nodes_;
  std::vector<pending_rebuild> pending_;
};

// g added into the slot's gradient; when it has none yet it adopts g's buffer instead of copying.
void accumulate_grad(grad_slot& s, const tensor& g);

}  // namespace wb
