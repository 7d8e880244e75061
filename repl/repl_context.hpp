// What the REPL's Lua functions share: the recipe session (none until a recipe is opened), the
// planner with its device profile, the last plan shown (for plan()'s diff) and the Ctrl-C flag.
#pragma once
#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/plan/plan.hpp"
#include "repl/recipe_session.hpp"
#include "repl/session_planner.hpp"

struct lua_State;

namespace wb {

struct repl_context {
  std::unique_ptr<recipe_session> session;
  session_planner planner;
  std::optional<plan_result> last_plan;
  std::string last_plan_hash;
  std::string default_data = "data/default";  // probe's rehearsal mix (WB_DEFAULT_DATA)
  const std::atomic<bool>* interrupted = nullptr;
  bool trust = false;                          // evaluate recipes without the sandbox (--trust)

  // The session, or a Lua-facing error telling how to open a recipe.
  recipe_session& need_session() const;
};

// A mistake the user made at the prompt; its text is the whole message (no Lua position).
struct repl_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

repl_context& repl_context_of(lua_State* L);

// Raises `message` as a Lua error without a position prefix.
int repl_raise(lua_State* L, const std::string& message);

// Runs a binding's body; a C++ exception becomes a Lua error raised after the catch block, so no
// C++ exception unwinds through a Lua frame.
template <class Body>
int repl_guard(lua_State* L, Body&& body) {
  std::string error;
  try {
    return body();
  } catch (recipe_failure& f) {
    error = format_diagnostics(f.errors);
  } catch (std::exception& e) {
    error = e.what();
  }
  return repl_raise(L, error);
}

// Registers `r` and the REPL functions (plan, sweep, probe, save, reset, changes, open, help) as
// globals of L; `ctx` must outlive L.
void repl_register(lua_State* L, repl_context& ctx);

// Sets the global `r` to the session's recipe proxy (nil without a session).
void repl_push_recipe_global(lua_State* L);

// The names tab completion offers for a bare word: the REPL's functions.
const std::vector<std::string>& repl_function_names();

}  // namespace wb
