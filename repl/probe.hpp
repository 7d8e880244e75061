// `probe(steps)`: a few real training steps of the session's recipe on this machine, measured
// against what the planner predicts for the same recipe on instance "local": peak memory by
// category (the engine's accountant) and step time. A recipe that does not fit here, is for a
// cluster, or whose data is not here runs rehearsal-sized (core/run/rehearsal.hpp) and says so.
#pragma once
#include <array>
#include <atomic>
#include <string>
#include <vector>

#include "core/plan/plan.hpp"
#include "core/recipe/recipe.hpp"
#include "core/tensor/memory.hpp"
#include "repl/session_planner.hpp"

namespace wb {

struct probe_options {
  long long steps = 3;
  std::string default_data = "data/default";  // the rehearsal's mix when the recipe's data is absent
  const std::atomic<bool>* stop = nullptr;    // set (Ctrl-C) to stop after the current step
};

struct probe_result {
  recipe probed;                                   // what ran: the recipe, or its rehearsal
  std::vector<std::string> notes;                  // why and how it was scaled, when it was
  plan_result predicted;
  long long steps_done = 0;
  bool stopped = false;
  std::array<double, mem_category_count> measured_peak{};  // bytes, max over steps
  double measured_total_peak = 0;
  std::vector<double> step_times;                  // seconds, each step
  double measured_step_s = 0;                      // median of the steps after the first
};

// Runs the steps in a temporary run directory (removed afterwards). Throws std::runtime_error (or
// the data and tokenizer errors train_run throws) with a message for the user.
probe_result probe_run(const recipe& r, session_planner& planner, const probe_options& options);

// Predicted against measured, one line per category, then the total and the step time.
std::string probe_table(const probe_result& p);

}  // namespace wb
