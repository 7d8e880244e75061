// The planner as the REPL uses it: plans for instance "local" need this machine's measured device
// profile, which is loaded from device_profile_path() on first use, or measured once and saved
// there (saying so, since measuring takes a moment). Cluster instances plan from the catalog alone.
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "core/plan/device_profile.hpp"
#include "core/plan/plan.hpp"
#include "core/recipe/resolve.hpp"

namespace wb {

class session_planner {
 public:
  // `say` receives progress lines ("measuring this machine's CPU once ...").
  explicit session_planner(std::function<void(const std::string&)> say = {}) : say_(std::move(say)) {}

  // Throws plan_error when the layout cannot run at all.
  plan_result plan(const recipe& r);

  // The local profile for `threads` (0: every core), loading or measuring it.
  const device_profile& local_profile(int threads);

 private:
  std::function<void(const std::string&)> say_;
  std::optional<device_profile> profile_;
};

// A planner error as `wb plan` prints it: the line that set the field at fault, then
// "Invalid 'parallel.tp' 2: <why>".
std::string plan_error_text(const resolved_recipe& r, const plan_error& e);

}  // namespace wb
