// Test support: a fixed random language-modelling batch of 8 rows of 16 tokens drawn from
// mt19937(seed) over a vocabulary of V, and rows [first, first + rows) of it, so data-parallel and
// tensor-parallel ranks can take their slices of the batch a single process sees whole.
#pragma once
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "core/tensor/tensor.hpp"

namespace wb::test {

// Targets are the next tokens; at position `ignore_t` (-1: none) the target is -1, ignored by the loss.
inline std::pair<tensor, tensor> lm_batch_rows(int first, int rows, uint32_t seed, int V, int ignore_t = -1) {
  const int T = 16;
  tensor tok({rows, T}, mem_category::temporaries, dtype::i32), tgt({rows, T}, mem_category::temporaries, dtype::i32);
  std::mt19937 rng(seed);
  std::vector<int32_t> seq(T + 1);
  for (int b = 0; b < 8; ++b) {
    for (auto& s : seq) s = int32_t(rng() % uint32_t(V));
    if (b < first || b >= first + rows) continue;
    for (int t = 0; t < T; ++t) {
      tok.i32()[(b - first) * T + t] = seq[size_t(t)];
      tgt.i32()[(b - first) * T + t] = t == ignore_t ? -1 : seq[size_t(t) + 1];
    }
  }
  return {tok, tgt};
}

}  // namespace wb::test
