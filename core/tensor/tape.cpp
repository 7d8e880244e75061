// The autograd tape: recording and the reverse walk.
#include "core/tensor/tape.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace wb {

var make_var(tensor data, bool requires_grad) {
  auto v = std::make_shared<value>();
  v->data = std::move(data);
  v->requires_grad = requires_grad;
  return v;
}

var tape::run(op_call c, std::vector<var> inputs) {
  if (!backend_->supports(c.op))
    throw std::runtime_error(fmt::format("backend '{}' does not support op '{}'", backend_->name(), op_name(c.op)));
  backend_->forward(c);
  bool needs_grad = false;
  for (auto& in : inputs) needs_grad |= in && in->requires_grad;
  var out = make_var(c.out, needs_grad && recording_);
  if (out->requires_grad) nodes_.push_back(tape_node{std::move(c), std::move(inputs), out, nullptr});
  return out;
}

void tape::record_custom(std::vector<var> inputs, var output, std::function<void(tape_node&)> rule) {
  nodes_.push_back(tape_node{op_call{}, std::move(inputs), std::move(output), std::move(rule)});
}

void accumulate_grad(const var& v, const tensor& g) {
  if (!v->requires_grad) return;
  if (!v->grad.defined()) {
    v->grad = g.reshape(v->data.shape());
    return;
  }
  float* d = v->grad.f32();
  const float* s = g.f32();
  for (int64_t i = 0, n = g.numel(); i < n; ++i) d[i] += s[i];
}

void tape::backward(const var& root, float seed) {
  if (root->data.numel() != 1)
    throw std::invalid_argument(fmt::format("backward: a scalar seed needs a one-element root, got {}", shape_str(root->data.shape())));
  tensor s(root->data.shape(), mem_category::temporaries);
  s.fill(seed);
  backward(root, s);
}

void tape::backward(const var& root, const tensor& seed) {
  if (!root->requires_grad) throw std::invalid_argument("backward: root does not require grad");
  accumulate_grad(root, seed);
  while (!nodes_.empty()) {
    tape_node& n = nodes_.back();
    if (n.output->grad.defined()) {
      if (n.custom_backward) {
        n.custom_backward(n);
      } else {
        std::vector<tensor> din(n.inputs.size());
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          const var& in = n.inputs[i];
          if (!in || !in->requires_grad) continue;
          if (!in->grad.defined()) in->grad = tensor::zeros(in->data.shape(), mem_category::temporaries);
          din[i] = in->grad;
        }
        backend_->backward(n.call, n.output->grad, din);
      }
      n.output->grad = tensor();  // every consumer of this output came later and is done
    }
    nodes_.pop_back();
  }
}

}  // namespace wb
