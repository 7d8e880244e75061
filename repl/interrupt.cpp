// The SIGINT handler and the Lua hook it installs; see interrupt.hpp.
#include "repl/interrupt.hpp"

#include <csignal>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace wb {
namespace {

std::atomic<bool> interrupted{false};
std::atomic<lua_State*> running{nullptr};

void stop_hook(lua_State* L, lua_Debug*) {
  lua_sethook(L, nullptr, 0, 0);
  luaL_error(L, "interrupted");
}

extern "C" void on_sigint(int) {
  interrupted = true;
  // lua_sethook only stores the hook and its mask: safe in a signal handler (lua.c relies on it).
  if (lua_State* L = running.load()) lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

}  // namespace

void interrupt_install() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns so the REPL sees the interruption
  sigaction(SIGINT, &sa, nullptr);
}

const std::atomic<bool>& interrupt_flag() { return interrupted; }

void interrupt_begin_call(lua_State* L) {
  interrupted = false;
  running = L;
}

void interrupt_end_call() {
  if (lua_State* L = running.exchange(nullptr)) lua_sethook(L, nullptr, 0, 0);
  interrupted = false;
}

}  // namespace wb
