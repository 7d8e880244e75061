// Op names, for messages and supports() listings.
#include "core/tensor/op.hpp"

namespace wb {

const char* op_name(op_kind op) {
  switch (op) {
    case op_kind::matmul: return "matmul";
    case op_kind::add: return "add";
    case op_kind::mul: return "mul";
    case op_kind::embedding: return "embedding";
    case op_kind::rmsnorm: return "rmsnorm";
    case op_kind::layernorm: return "layernorm";
    case op_kind::rope: return "rope";
    case op_kind::attention: return "attention";
    case op_kind::swiglu: return "swiglu";
    case op_kind::gelu: return "gelu";
    case op_kind::softmax: return "softmax";
    case op_kind::cross_entropy: return "cross_entropy";
    case op_kind::to_bf16: return "to_bf16";
  }
  return "?";
}

op_backward_needs backward_needs(op_kind op) {
  op_backward_needs n;
  switch (op) {
    case op_kind::matmul:
    case op_kind::mul:
    case op_kind::swiglu:
    case op_kind::rmsnorm:
    case op_kind::cross_entropy: n.in[0] = n.in[1] = true; break;
    case op_kind::layernorm: n.in[0] = n.in[1] = true; break;
    case op_kind::attention: n.in[0] = n.in[1] = n.in[2] = true; break;
    case op_kind::embedding: n.in[1] = true; break;
    case op_kind::gelu: n.in[0] = true; break;
    case op_kind::softmax: n.out = true; break;
    case op_kind::add:
    case op_kind::rope:
    case op_kind::to_bf16: break;
  }
  return n;
}

}  // namespace wb
