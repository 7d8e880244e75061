// The autograd operators of Megatron-LM tensor parallel (Shoeybi et al. 2019, "Megatron-LM:
// Training Multi-Billion Parameter Language Models Using Model Parallelism", section 3 and figure 3),
// as custom tape nodes so the ordinary backward walk runs them. `group` is the rank's tp group;
// every rank of it must run the same operators in the same order (forward and backward).
//   f = copy_to_tensor_parallel: identity forward, all-reduce of the gradient backward (before
//       a column-parallel matmul: each rank's partial input gradient is summed).
//   g = reduce_from_tensor_parallel: all-reduce forward (after a row-parallel matmul: the partial
//       outputs are summed), identity backward.
//   vocab_parallel_embedding: this rank holds rows [vocab_offset, vocab_offset + V/tp) of the
//       table; ids outside give zero rows and the partial outputs are all-reduced (an embedded g).
//   vocab_parallel_cross_entropy: logits (N, V/tp) of this rank's vocabulary slice; the row max
//       and the sum of exponentials are reduced over the group (max by an all-gather of the
//       per-rank maxima), as are the target logits (held by one rank each), so no rank forms the
//       (N, V) logits. Returns the mean loss over targets != -1, the same on every rank; backward
//       gives each rank the gradient of its own slice, softmax - onehot.
#pragma once
#include "core/parallel/collective.hpp"
#include "core/tensor/ops.hpp"

namespace wb {

var copy_to_tensor_parallel(tape& tp, collective& group, const var& x);
var reduce_from_tensor_parallel(tape& tp, collective& group, const var& x);
// The same inside a model's blocks, where `group` is model::tensor_parallel(): the identity when the
// model is not split (null).
inline var copy_to_tensor_parallel(tape& tp, collective* group, const var& x) {
  return group ? copy_to_tensor_parallel(tp, *group, x) : x;
}
inline var reduce_from_tensor_parallel(tape& tp, collective* group, const var& x) {
  return group ? reduce_from_tensor_parallel(tp, *group, x) : x;
}
// weight (V/tp, C) of rows from vocab_offset; ids i32 (..) global ids -> (.., C)
var vocab_parallel_embedding(tape& tp, collective& group, const var& weight, const var& ids, int64_t vocab_offset);
// logits (N, V/tp) of columns from vocab_offset; targets i32 (N) global ids, -1 ignored -> (1)
var vocab_parallel_cross_entropy(tape& tp, collective& group, const var& logits, const var& targets, int64_t vocab_offset);

}  // namespace wb
