// Where a rank sits in a tp x dp x pp job, laid out as Megatron-LM does (Shoeybi et al. 2019,
// Narayanan et al. 2021; megatron/core/parallel_state.py): tensor parallel innermost so a tp group is
// consecutive ranks (on one node, over the fastest links), then data parallel, then pipeline:
//   rank = pp_i * dp * tp + dp_i * tp + tp_i.
// The groups of a rank are the ranks that differ from it in one coordinate only.
#pragma once
#include <vector>

namespace wb {

struct rank_coords {
  int tp = 0, dp = 0, pp = 0;
};

struct rank_layout {
  int tp = 1, dp = 1, pp = 1;

  int world() const { return tp * dp * pp; }
  rank_coords coords(int rank) const;
  int rank_of(rank_coords c) const { return c.pp * dp * tp + c.dp * tp + c.tp; }
  // Members in order of their coordinate in that group (so index == coords(rank).tp, .dp, .pp).
  std::vector<int> tp_group(int rank) const;
  std::vector<int> dp_group(int rank) const;
  std::vector<int> pp_group(int rank) const;
};

// Checks the sizes against world; the error says which product was expected.
rank_layout make_rank_layout(int tp, int dp, int pp, int world);

}  // namespace wb
