// ZeRO-2 and 3's buckets as the planner counts them (core/parallel/zero2.hpp, zero3.hpp): a bucket
// is one layer's parameters, or the outer ones (embeddings, final norm, output layer); and whether
// ZeRO-3 prefetches the next layer, which holds a second layer gathered.
#pragma once
#include <cstddef>
#include <vector>

#include "core/plan/plan.hpp"

namespace wb {

// The engine's overlap_grad_reduce_applies (core/parallel/grad_reduce_overlap.hpp) for a plan:
// ZeRO-3 over dp > 1 with parallel.overlap_grad_reduce, no pipeline parallel (with tensor parallel
// train_run gives data parallel a channel of its own, so the prefetch runs there too).
bool zero3_prefetches(const plan_layout& l);

// Elements that tensor-parallel rank `tp_rank` of `tp` holds of the parameters `indices` (into
// param_layout(c)): the outer ones, and each layer's (layer[l], c.layers entries).
struct bucket_elements {
  double outer = 0;
  std::vector<double> layer;
};
bucket_elements bucket_elements_of(const model_config& c, int tp, int tp_rank, const std::vector<size_t>& indices);

}  // namespace wb
