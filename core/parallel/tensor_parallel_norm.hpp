// The global gradient norm of a tensor-parallel model: each rank's gradient arena holds its shards
// of the split parameters and a full copy of the replicated ones (norm weights, identical on every
// tp rank). The squared norm is the sum over ranks of the shards' squares plus the replicated
// squares counted once; finiteness is agreed by the whole group, so every rank clips, skips or
// stops alike.
#pragma once
#include "core/model/model.hpp"
#include "core/train/grad_norm.hpp"

namespace wb {

// local: grad_norm() of this rank's arena. Collective over m.tensor_parallel() (identity without).
grad_stats tensor_parallel_grad_norm(const model& m, const grad_stats& local);

}  // namespace wb
