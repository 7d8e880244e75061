// rank_layout: coordinates and groups from the Megatron ordering (tp fastest, then dp, then pp).
#include "core/parallel/rank_layout.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace wb {

rank_coords rank_layout::coords(int rank) const {
  if (rank < 0 || rank >= world())
    throw std::out_of_range(fmt::format("rank {} is outside a tp={} x dp={} x pp={} job of {} ranks", rank, tp, dp, pp, world()));
  return {rank % tp, (rank / tp) % dp, rank / (tp * dp)};
}

std::vector<int> rank_layout::tp_group(int rank) const {
  rank_coords c = coords(rank);
  std::vector<int> g;
  for (int i = 0; i < tp; ++i) g.push_back(rank_of({i, c.dp, c.pp}));
  return g;
}

std::vector<int> rank_layout::dp_group(int rank) const {
  rank_coords c = coords(rank);
  std::vector<int> g;
  for (int i = 0; i < dp; ++i) g.push_back(rank_of({c.tp, i, c.pp}));
  return g;
}

std::vector<int> rank_layout::pp_group(int rank) const {
  rank_coords c = coords(rank);
  std::vector<int> g;
  for (int i = 0; i < pp; ++i) g.push_back(rank_of({c.tp, c.dp, i}));
  return g;
}

rank_layout make_rank_layout(int tp, int dp, int pp, int world) {
  if (tp < 1 || dp < 1 || pp < 1)
    throw std::invalid_argument(fmt::format("Invalid parallel layout tp={} dp={} pp={}: every size must be >= 1", tp, dp, pp));
  if (tp * dp * pp != world)
    throw std::invalid_argument(fmt::format(
        "Invalid parallel layout: tp ({}) x dp ({}) x pp ({}) = {} ranks, but the job has {}; set parallel.dp to {}",
        tp, dp, pp, tp * dp * pp, world, world % (tp * pp) == 0 ? world / (tp * pp) : 0));
  return {tp, dp, pp};
}

}  // namespace wb
