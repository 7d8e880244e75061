// Seeded permutations.
#include "core/util/random.hpp"

#include <numeric>
#include <utility>

namespace wb {

std::vector<uint32_t> random_permutation(uint32_t n, uint64_t seed) {
  std::vector<uint32_t> p(n);
  std::iota(p.begin(), p.end(), 0u);
  rng64 r(seed);
  for (uint32_t i = n; i > 1; --i) std::swap(p[i - 1], p[r.below(i)]);
  return p;
}

}  // namespace wb
