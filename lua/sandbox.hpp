// A LuaJIT state for untrusted recipes: an allow-listed environment (no io, os, debug, ffi, package,
// load*, dofile, getfenv/setfenv, string.dump, coroutine, jit), text chunks only, the JIT off so the
// instruction-count hook always fires, and limits on time and memory. A limit once hit stays hit:
// pcall cannot swallow it. Run it inside a child process (recipe_eval.hpp) so that even a hang in C
// code (a pathological string pattern) cannot take wb down.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

struct lua_State;
struct lua_Debug;

namespace wb {

struct sandbox_limits {
  double seconds = 2.0;                  // WB_RECIPE_TIME_LIMIT overrides
  size_t memory_bytes = 256ull << 20;    // WB_RECIPE_MEMORY_LIMIT (MiB) overrides
  static sandbox_limits from_env();
};

enum class sandbox_limit_hit { none = 0, time = 1, memory = 2 };

class lua_sandbox {
 public:
  // trust = true: the full standard library, the JIT on, no limits (`--trust`).
  lua_sandbox(const sandbox_limits& limits, bool trust);
  ~lua_sandbox();
  lua_sandbox(const lua_sandbox&) = delete;
  lua_sandbox& operator=(const lua_sandbox&) = delete;

  lua_State* state() { return L_; }

  // Loads `text` as a text chunk named `chunkname` ("@recipes/x.lua"), sets the sandbox environment
  // and calls it with nresults = 1. Returns "" on success (result on the stack) or the error text.
  std::string run(const std::string& text, const std::string& chunkname);

  sandbox_limit_hit limit_hit() const { return hit_; }
  std::string limit_message() const;  // "time limit (2 s) exceeded" ...
  const sandbox_limits& limits() const { return limits_; }

  // Where the limit state lives: in memory shared with the parent when evaluated in a child.
  void share_limit_flag(volatile int* flag) { shared_flag_ = flag; }

 private:
  static void* allocate(void* ud, void* ptr, size_t old_size, size_t new_size);
  static void hook(lua_State* L, ::lua_Debug* ar);
  void mark(sandbox_limit_hit hit);
  void build_environment();

  lua_State* L_ = nullptr;
  sandbox_limits limits_;
  bool trust_;
  size_t used_ = 0;
  sandbox_limit_hit hit_ = sandbox_limit_hit::none;
  volatile int* shared_flag_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  friend int sandbox_pcall(lua_State* L);
  friend int sandbox_xpcall(lua_State* L);
};

lua_sandbox* sandbox_of(lua_State* L);

}  // namespace wb
