// Under sequence parallel (tensor_parallel_ops.hpp) each tp rank runs the norms, GPT's row-parallel
// bias adds and its position embedding on its own block of tokens, so its gradient of those
// replicated parameters is that block's part only. Megatron-LM sums them over the tp group before
// the optimizer (allreduce_sequence_parallel_gradients, Korthikanti et al. 2022 section 4.2.2);
// afterwards every tp rank holds the same whole gradient, as without sequence parallel, and the
// norm, clipping and AdamW keep the replicated copies identical.
#pragma once
#include <vector>

#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"

namespace wb {

// The gradients of the replicated parameters among `params` (indices into m.params(); the same
// list on every rank of the tp group, e.g. a ZeRO-2 layer bucket's) become their sums over
// m.tensor_parallel(), packed into one all-reduce; each must have a gradient bound. Nothing
// without sequence parallel. Collective over the tp group.
void sequence_parallel_sum_grads(const model& m, const std::vector<size_t>& params);
// The same for every parameter (gradients in the model's gradient arena).
void sequence_parallel_sum_grads(const model& m);

}  // namespace wb
