// The model's parameters grouped as the data-parallel gradient reductions and ZeRO-3's gathers move
// them: one bucket per transformer layer (its parameters follow each other in the arena,
// param_layout order, so a bucket is one range) and one per contiguous run of the parameters outside
// the layers (embedding, final norm, output layer). ZeRO-2 reduce-scatters these buckets, ZeRO-3
// gathers them, and grad_reduce_overlap merges adjacent layers' buckets before reducing them.
#pragma once
#include <vector>

#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"

namespace wb {

struct param_bucket {
  chunk range;                 // in the model's arena
  std::vector<size_t> params;  // indices into model::params(), in arena order
};

struct param_buckets {
  // layers[l] is layer l's (model layer numbering); without parameters for a layer another pipeline
  // stage holds.
  std::vector<param_bucket> layers;
  std::vector<param_bucket> outer;  // in arena order
};

// Throws std::logic_error, naming `who` and the parameter, when a layer's parameters are not one
// range of the arena.
param_buckets param_buckets_of(const model& m, const char* who);

}  // namespace wb
