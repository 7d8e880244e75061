// The ops a model is written with. Each checks shapes, allocates its output and saved tensors in
// `activations` (so the accountant sees them), runs on the tape's backend and records itself.
// Errors are std::invalid_argument with "Invalid <op>: ..." text.
#pragma once
#include <functional>

#include "core/tensor/tape.hpp"

namespace wb {

// (.., M, K) x (K, N) -> (.., M, N); trans_a / trans_b read a as (.., K, M), b as (N, K).
// b is either 2-D (shared by every batch) or has a's leading (batch) dims. a and b may be fp32 or
// bf16; the product is computed and returned in fp32.
var matmul(tape& tp, const var& a, const var& b, bool trans_a = false, bool trans_b = false);
var add(tape& tp, const var& a, const var& b);  // b's shape a suffix of a's: bias, positions
var mul(tape& tp, const var& a, const var& b);
var embedding(tape& tp, const var& weight, const var& ids);  // (V, C), i32 (..) -> (.., C)
var rmsnorm(tape& tp, const var& x, const var& w, float eps);
var layernorm(tape& tp, const var& x, const var& w, const var& b, float eps);
var rope(tape& tp, const var& x, double theta);  // x (B, T, NH, HD), positions 0..T-1
// probs_bf16 (mixed precision): P rounded to bf16 for P V and kept in bf16, halving the largest
// activation; the result then differs from fp32 attention by bf16 rounding of P.
var attention(tape& tp, const var& q, const var& k, const var& v, bool recompute_probs = false, bool probs_bf16 = false);
var swiglu(tape& tp, const var& a, const var& b);  // silu(a) * b
var gelu(tape& tp, const var& x);
var softmax(tape& tp, const var& x);
var cross_entropy(tape& tp, const var& logits, const var& targets);  // mean over targets != -1
var reshape(tape& tp, const var& x, shape_t shape);                  // a view, no copy
// fp32 -> bf16 copy charged to `category` (activations, or parameters for a weight's bf16 copy);
// its gradient flows back unchanged in fp32.
var to_bf16(tape& tp, const var& x, mem_category category = mem_category::activations);

// Activation recomputation: runs fn(x) without keeping its intermediates; backward runs it again
// on a recording tape and backpropagates through that. fn must be deterministic.
using block_fn = std::function<var(tape&, const var&)>;
var checkpoint(tape& tp, const block_fn& fn, const var& x);

}  // namespace wb
