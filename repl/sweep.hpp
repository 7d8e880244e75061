// `sweep{["parallel.microbatch"] = {1, 2, 4, 8}, ["parallel.recompute"] = {"none", "full"}}`: the
// plan of every combination of the given values on top of the session's recipe, one row each.
// Axes are ordered as the schema orders fields, so the same sweep always prints the same table; a
// combination the recipe rejects (or the planner cannot lay out) is a row saying why.
#pragma once
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "core/plan/plan.hpp"
#include "repl/recipe_session.hpp"
#include "repl/session_planner.hpp"

namespace wb {

struct sweep_axis {
  std::string path;                  // "parallel.microbatch"
  std::vector<recipe_value> values;  // tried in this order
};

struct sweep_row {
  std::vector<recipe_edit> point;    // one value per axis
  std::optional<plan_result> plan;
  std::string error;                 // why there is no plan: the recipe's or the planner's message
};

// Every combination, the first axis (in schema order) varying slowest. Throws std::invalid_argument
// naming the key when an axis is not a field or has no values.
std::vector<std::vector<recipe_edit>> sweep_points(std::vector<sweep_axis> axes);

// Plans each point; stops early (returning the rows so far) when *stop becomes true.
std::vector<sweep_row> sweep_run(const recipe_session& s, session_planner& planner, const std::vector<sweep_axis>& axes,
                                 const std::atomic<bool>* stop = nullptr);

// The rows as an aligned table: the swept values, then fits, memory per device, step time, MFU,
// tokens/s, time to train and cost.
std::string sweep_table(const std::vector<sweep_row>& rows);

}  // namespace wb
