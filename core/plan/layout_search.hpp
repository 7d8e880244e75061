// `wb plan --search`: every layout of a recipe's model and global batch on a cluster (dp, tp, pp,
// virtual stages, ZeRO stage, microbatch, recompute; optionally several node counts and instance
// types), planned, ranked by time or cost, with the reasons the rest were rejected.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/plan/plan.hpp"

namespace wb {

struct search_space {
  std::vector<std::string> instances;  // empty: the recipe's
  std::vector<int> nodes;              // empty: the recipe's
  std::string rank_by = "time";        // "time" | "cost"
  size_t top = 5;
};

struct search_result {
  std::vector<plan_result> best;       // ranked, at most `top`
  long long considered = 0, fitting = 0;
  std::map<std::string, long long> rejected;  // reason -> count
  std::optional<plan_result> closest_over_memory;  // the over-memory layout that missed by least
};

search_result layout_search(const recipe& r, const instance_catalog& catalog, const search_space& space,
                            const device_profile* local = nullptr);

// `8..64` -> 8, 9, ..., 64; `8,16,32` -> 8, 16, 32. Throws std::invalid_argument on other text.
std::vector<int> parse_node_range(const std::string& text);

}  // namespace wb
