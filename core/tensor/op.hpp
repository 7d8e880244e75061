// The one op enum, and the call record a backend runs: inputs, preallocated output and saved
// tensors, and attributes. Core allocates every output and saved tensor (so all of them are
// accounted); a backend only fills them. Dimension letters: B batch, T time, C channels, NH query
// heads, KVH key/value heads, HD head dim, V vocabulary, N rows (B*T), M K N for matmul.
#pragma once
#include <vector>

#include "core/tensor/tensor.hpp"

namespace wb {

enum class op_kind : uint8_t {
  matmul,         // in: a (.., M, K), b (K, N) or (.., K, N); transposes per attrs    out: (.., M, N)
                  //     a and b fp32 or bf16 (widened to fp32 inside the kernel); out fp32
  add,            // in: a (..), b a suffix of a's shape (broadcast over the leading dims) out: a's shape
  mul,            // in: a, b same shape                                              out: same
  embedding,      // in: weight (V, C), ids i32 (..)                                  out: (.., C)
  rmsnorm,        // in: x (.., C), w (C)                 saved: rstd (N)             out: (.., C)
  layernorm,      // in: x (.., C), w (C), b (C)          saved: mean, rstd (2, N)    out: (.., C)
  rope,           // in: x (B, T, NH, HD)                                             out: same
  attention,      // in: q (B, T, NH, HD), k, v (B, T, KVH, HD); causal, GQA
                  //     saved: lse (B, NH, T) [, probs (B, NH, T, T) unless recompute_probs,
                  //     bf16 when probs_bf16]
  swiglu,         // in: a, b same shape: silu(a) * b                                 out: same
  gelu,           // in: x, tanh approximation                                        out: same
  softmax,        // in: x (.., V) over the last dim                                  out: same
  cross_entropy,  // in: logits (N, V), targets i32 (N), -1 ignored   saved: lse (N)  out: mean loss (1)
  to_bf16,        // in: x fp32 (..)                                                  out: bf16, same shape
                  //     round to nearest even; backward passes dout through (straight-through)
};
constexpr int op_kind_count = 13;
const char* op_name(op_kind op);

struct op_attrs {
  bool trans_a = false, trans_b = false;  // matmul
  float eps = 1e-5f;                      // rmsnorm, layernorm
  double rope_theta = 10000;              // rope
  bool recompute_probs = false;           // attention: keep only lse, rebuild probs in backward
  bool probs_bf16 = false;                // attention: probs rounded to bf16 for P V, kept in bf16
};

// What an op's backward reads besides dout and its saved tensors. The tape keeps only these
// (others become shape_only), so saved activations are what backward needs, as in PyTorch's
// saved tensors: e.g. add keeps nothing, matmul its two operands, softmax its output.
struct op_backward_needs {
  bool in[3] = {false, false, false};
  bool out = false;
};
op_backward_needs backward_needs(op_kind op);

struct op_call {
  op_kind op;
  op_attrs attrs;
  std::vector<tensor> in;
  tensor out;
  std::vector<tensor> saved;
};

}  // namespace wb
