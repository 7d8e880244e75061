// The autograd operators of Megatron-LM tensor parallel (Shoeybi et al. 2019, "Megatron-LM:
// Training Multi-Billion Parameter Language Models Using Model Parallelism", section 3 and figure 3),
// as custom tape nodes so the ordinary backward walk runs them. `group` is the rank's tp group;
// every rank of it must run the same operators in the same order (forward and backward).
//   f = copy_to_tensor_parallel: identity forward, all-reduce of the gradient backward (before
//       a column-parallel matmul: each rank's partial input gradient is summed).
//   g = reduce_from_tensor_parallel: all-reduce forward (after a row-parallel matmul: the partial
//       outputs are summed), identity backward.
// Sequence parallel (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
// Transformer Models", section 4.2.2 and figure 5): between the tensor-parallel regions the
// residual stream is split over the group by tokens instead of replicated, so the norms, the
// residual adds and their saved activations cost 1/tp each. The (B, T, C) activation's tokens,
// flattened to N = B T rows, are cut into tp consecutive blocks of N/tp rows (chunk_range of the
// N C elements; T % tp == 0 keeps every block whole rows); rank r holds block r, shaped
// (B, T/tp, C) for the shape bookkeeping only: ops on it are per token. f and g become
//   gather_from_sequence_parallel: all-gather forward (before a column-parallel matmul),
//       reduce-scatter of the gradient backward;
//   reduce_scatter_to_sequence_parallel: reduce-scatter forward (after a row-parallel matmul),
//       all-gather of the gradient backward.
// The same volume as f and g's all-reduces (a ring all-reduce is a reduce-scatter and an
// all-gather). As Megatron-LM does, a gather's output is not kept for backward: its block is, and
// backward gathers it again for the layers that read it (tape::rebuild_in_backward), so the
// column-parallel layers' saved input costs 1/tp too. A replicated parameter read on a block (norm weights, GPT's row-parallel biases and
// positions) gets only its block's part of the gradient: sequence_parallel_sum_grads
// (core/parallel/tensor_parallel_norm.hpp) sums them over the group before the optimizer.
//   vocab_parallel_embedding: this rank holds rows [vocab_offset, vocab_offset + V/tp) of the
//       table; ids outside give zero rows and the partial outputs are all-reduced (an embedded g).
//   vocab_parallel_cross_entropy: logits (N, V/tp) of this rank's vocabulary slice; the row max
//       and the sum of exponentials are reduced over the group (max by an all-gather of the
//       per-rank maxima), as are the target logits (held by one rank each), so no rank forms the
//       (N, V) logits. Returns the mean loss over targets != -1, the same on every rank; backward
//       gives each rank the gradient of its own slice, softmax - onehot.
#pragma once
#include "core/model/model.hpp"
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
// x (B, T/tp, C), this rank's block -> (B, T, C) on every rank
var gather_from_sequence_parallel(tape& tp, collective& group, const var& x);
// x (B, T, C), this rank's partial sum -> (B, T/tp, C), this rank's block of the sum over the group
var reduce_scatter_to_sequence_parallel(tape& tp, collective& group, const var& x);
// The input of a column-parallel layer from x (B, T, C), or under sequence parallel x's block
// (B, T/tp, C): gemm_input (mixed_precision.hpp) of f(x), or the gather of gemm_input(x), so a bf16
// run gathers the bf16 copy; the identity f without a split.
var column_parallel_input(tape& tp, const model& m, const var& x);
// A row-parallel layer's partial output summed over the group: g, or under sequence parallel the
// reduce-scatter into this rank's block; the identity without a split.
var row_parallel_output(tape& tp, const model& m, const var& x);
// weight (V/tp, C) of rows from vocab_offset; ids i32 (B, T) global ids -> (B, T, C), or with
// `scatter` (sequence parallel) this rank's block (B, T/tp, C)
var vocab_parallel_embedding(tape& tp, collective& group, const var& weight, const var& ids, int64_t vocab_offset,
                             bool scatter = false);
// logits (N, V/tp) of columns from vocab_offset; targets i32 (N) global ids, -1 ignored -> (1)
var vocab_parallel_cross_entropy(tape& tp, collective& group, const var& logits, const var& targets, int64_t vocab_offset);

}  // namespace wb
