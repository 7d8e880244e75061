// The autograd tape: recording (keeping only what backward reads), layer marks, and the reverse walk.
#include "core/tensor/tape.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace wb {

var make_var(tensor data, bool requires_grad) {
  auto v = std::make_shared<value>();
  v->slot = std::make_shared<grad_slot>();
  v->slot->shape = data.shape();
  v->slot->requires_grad = requires_grad;
  v->data = std::move(data);
  return v;
}

var tape::run(op_call c, const std::vector<var>& inputs) {
  if (!backend_->supports(c.op))
    throw std::runtime_error(fmt::format("backend '{}' does not support op '{}'", backend_->name(), op_name(c.op)));
  backend_->forward(c);
  bool needs_grad = false;
  for (auto& in : inputs) needs_grad |= in && in->requires_grad();
  var out = make_var(c.out, needs_grad && recording_);
  if (!out->requires_grad()) return out;
  op_backward_needs need = backward_needs(c.op);
  for (size_t i = 0; i < c.in.size(); ++i)
    if (i >= 3 || !need.in[i]) c.in[i] = c.in[i].shape_only();
  if (!need.out) c.out = c.out.shape_only();
  tape_node n{std::move(c), {}, out->slot, nullptr};
  for (auto& in : inputs) n.inputs.push_back(in->slot);
  nodes_.push_back(std::move(n));
  return out;
}

void tape::record_custom(const std::vector<var>& inputs, const var& output, std::function<void(tape_node&)> rule) {
  tape_node n{op_call{}, {}, output->slot, std::move(rule)};
  for (auto& in : inputs) n.inputs.push_back(in->slot);
  nodes_.push_back(std::move(n));
}

void tape::mark_layer(int layer, bool begin) {
  if (hooks_)
    if (const auto& now = begin ? hooks_->before_forward : hooks_->after_forward) now(layer);
  if (!recording_) return;
  find_rebuilt_readers();
  if (!hooks_) return;
  tape_node n;
  const layer_hooks* h = hooks_;
  // Backward walks in reverse: the end mark is reached first, the begin mark after the layer's ops.
  n.reached = begin ? std::function<void()>([h, layer] { if (h->finished) h->finished(layer); })
                    : std::function<void()>([h, layer] { if (h->entered) h->entered(layer); });
  nodes_.push_back(std::move(n));
}

void tape::rebuild_in_backward(const var& x, std::function<tensor()> rebuild) {
  if (!recording_) return;
  find_rebuilt_readers();  // the earlier ones' readers are recorded by now
  auto r = std::make_shared<rebuilt_input>();
  r->rebuild = std::move(rebuild);
  pending_.push_back({x->slot, x->data, std::move(r)});
}

void tape::find_rebuilt_readers() {
  for (pending_rebuild& p : pending_) {
    // Back from the newest node to x's producer: x is read only by nodes recorded after it.
    for (size_t i = nodes_.size(); i-- > 0;) {
      tape_node& n = nodes_[i];
      if (n.output == p.slot) break;
      for (size_t k = 0; k < n.call.in.size(); ++k)
        if (n.call.in[k].defined() && n.call.in[k].same_storage(p.data)) {
          n.call.in[k] = n.call.in[k].shape_only();
          p.rule->uses.push_back({i, k});
        }
    }
    if (!p.rule->uses.empty()) nodes_[p.rule->uses.front().first].rebuild = p.rule;  // the newest reader: reached first
  }
  pending_.clear();
}

void accumulate_grad(grad_slot& s, const tensor& g) {
  if (!s.requires_grad) return;
  if (!s.grad.defined()) {
    s.grad = g.reshape(s.shape);
    return;
  }
  float* d = s.grad.f32();
  const float* src = g.f32();
  for (int64_t i = 0, n = g.numel(); i < n; ++i) d[i] += src[i];
}

void tape::backward(const var& root, float seed) {
  if (root->data.numel() != 1)
    throw std::invalid_argument(fmt::format("backward: a scalar seed needs a one-element root, got {}", shape_str(root->data.shape())));
  tensor s(root->data.shape(), mem_category::temporaries);
  s.fill(seed);
  backward(root, s);
}

void tape::backward(const var& root, const tensor& seed) {
  if (!root->requires_grad()) throw std::invalid_argument("backward: root does not require grad");
  find_rebuilt_readers();
  accumulate_grad(*root->slot, seed);
  while (!nodes_.empty()) {
    tape_node& n = nodes_.back();
    if (n.rebuild) {
      tensor again = n.rebuild->rebuild();
      for (auto [node, input] : n.rebuild->uses) nodes_[node].call.in[input] = again.reshape(nodes_[node].call.in[input].shape());
      n.rebuild.reset();
    }
    if (n.reached) {
      n.reached();
    } else if (n.output->grad.defined()) {
      if (n.custom_backward) {
        n.custom_backward(n);
      } else {
        std::vector<tensor> din(n.inputs.size());
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          grad_slot& in = *n.inputs[i];
          if (!in.requires_grad) continue;
          if (!in.grad.defined()) in.grad = tensor::zeros(in.shape, mem_category::temporaries);
          din[i] = in.grad;
        }
        backend_->backward(n.call, n.output->grad, din);
      }
      n.output->grad = tensor();  // every consumer of this output came later and is done
    }
    nodes_.pop_back();
  }
}

}  // namespace wb
