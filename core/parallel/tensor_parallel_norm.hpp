// The global gradient norm of a tensor-parallel model: each rank's gradient arena holds its shards
// of the split parameters and a full copy of the replicated ones (norm weights, identical on every
// tp rank). The squared norm is the sum over ranks of the shards' squares plus the replicated
// squares counted once; finiteness is agreed by the whole group, so every rank clips, skips or
// stops alike.
#pragma once
#include <vector>

#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"
#include "core/train/grad_norm.hpp"

namespace wb {

// local: grad_norm() of this rank's arena. Collective over m.tensor_parallel() (identity without).
grad_stats tensor_parallel_grad_norm(const model& m, const grad_stats& local);

// Sharded optimizers (ZeRO), whose ranks each see only part of the arena: the arena ranges whose
// squares this rank leaves to tp rank 0 (the replicated parameters, on every tp rank but 0; empty
// without tp), and the norm over the tp group from `part`, a norm that already leaves them out.
std::vector<chunk> tensor_parallel_uncounted_ranges(const model& m);
grad_stats tensor_parallel_sum_norms(const model& m, const grad_stats& part);

}  // namespace wb
