// Loading or measuring the local device profile once per session; see session_planner.hpp.
#include "repl/session_planner.hpp"

#include <fmt/format.h>

#include "backends/cpu/cpu_backend.hpp"
#include "lua/recipe_eval.hpp"

namespace wb {

const device_profile& session_planner::local_profile(int threads) {
  cpu_backend backend(threads);
  if (profile_ && profile_->threads == backend.threads()) return *profile_;
  std::string path = device_profile_path();
  profile_ = device_profile_load(path);
  if (!profile_ || profile_->threads != backend.threads()) {
    if (say_) say_(fmt::format("measuring this machine's CPU once ({} threads); saved to {}", backend.threads(), path));
    profile_ = device_profile_measure(backend, backend.threads());
    try {
      device_profile_save(*profile_, path);
    } catch (std::exception& e) {
      if (say_) say_(e.what());  // the plan still has its profile; the next session measures again
    }
  }
  return *profile_;
}

std::string plan_error_text(const resolved_recipe& r, const plan_error& e) {
  const recipe_value* v = e.key.empty() ? nullptr : r.tree.at_path(e.key);
  return (v && v->loc.known() ? v->loc.str() + ": " : "") + "Invalid '" + e.key + "'" + (v ? " " + v->describe() : "") +
         ": " + e.what();
}

plan_result session_planner::plan(const recipe& r) {
  const device_profile* local = r.cluster.instance == "local" ? &local_profile(r.train.threads) : nullptr;
  return plan_recipe(r, catalog_builtin(), local);
}

}  // namespace wb
