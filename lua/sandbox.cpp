// The recipe sandbox: allocator with a cap, count hook with a deadline, allow-listed environment.
#include "lua/sandbox.hpp"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>
#include <vector>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
}

#include "core/util/did_you_mean.hpp"

namespace wb {

namespace {
char registry_key;  // its address keys the owning lua_sandbox in the registry
char env_key;       // and the sandbox environment

// Names a recipe may not touch, with the reason given when it tries.
const char* const denied_names[] = {"io", "os", "debug", "ffi", "jit", "package", "load", "loadstring",
                                    "loadfile", "dofile", "getfenv", "setfenv", "module", "newproxy",
                                    "collectgarbage", "coroutine", "gcinfo", "_G"};

const char* const allowed_base[] = {"assert", "error", "ipairs", "next", "pairs", "select", "tonumber",
                                    "tostring", "type", "unpack", "rawequal", "rawget", "rawset",
                                    "setmetatable", "_VERSION"};

int env_index(lua_State* L) {
  const char* name = lua_tostring(L, 2);
  if (!name) return 0;
  for (const char* denied : denied_names)
    if (std::strcmp(name, denied) == 0)
      return luaL_error(L, "'%s' is not available in a recipe: recipes are sandboxed and cannot read or write "
                           "files, run commands, open sockets or load code (use --trust for your own recipes)", name);
  std::vector<std::string> known;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (lua_type(L, -2) == LUA_TSTRING) known.emplace_back(lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  std::string near = did_you_mean(name, known);
  std::string msg = "unknown name '" + std::string(name) + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?");
  lua_pushstring(L, msg.c_str());
  luaL_where(L, 1);
  lua_insert(L, -2);
  lua_concat(L, 2);
  return lua_error(L);
}

int denied_dump(lua_State* L) {
  return luaL_error(L, "'string.dump' is not available in a recipe: recipes are sandboxed and cannot load or "
                       "produce bytecode (use --trust for your own recipes)");
}

int safe_getmetatable(lua_State* L) {
  luaL_checkany(L, 1);
  if (lua_type(L, 1) == LUA_TSTRING) return 0;  // the string metatable holds the real string library
  if (!lua_getmetatable(L, 1)) return 0;
  lua_pushliteral(L, "__metatable");
  lua_rawget(L, -2);
  return lua_isnil(L, -1) ? (lua_pop(L, 1), 1) : 1;
}

int safe_print(lua_State* L) {  // to stderr: stdout carries `wb show --json`
  int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) {
    size_t len;
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    const char* s = lua_tolstring(L, -1, &len);
    if (i > 1) std::fputc('\t', stderr);
    if (s) std::fwrite(s, 1, len, stderr);
    lua_pop(L, 1);
  }
  std::fputc('\n', stderr);
  return 0;
}

void copy_library(lua_State* L, int env, const char* name) {
  lua_newtable(L);
  lua_getglobal(L, name);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -5);
  }
  lua_pop(L, 1);
  lua_setfield(L, env, name);
}
}  // namespace

int sandbox_pcall(lua_State* L) {
  luaL_checkany(L, 1);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  if (auto* s = sandbox_of(L); s && s->hit_ != sandbox_limit_hit::none) {
    lua_pushstring(L, s->limit_message().c_str());
    return lua_error(L);
  }
  lua_pushboolean(L, status == 0);
  lua_insert(L, 1);
  return lua_gettop(L);
}

int sandbox_xpcall(lua_State* L) {
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lua_insert(L, 1);  // handler, f
  int status = lua_pcall(L, 0, LUA_MULTRET, 1);
  if (auto* s = sandbox_of(L); s && s->hit_ != sandbox_limit_hit::none) {
    lua_pushstring(L, s->limit_message().c_str());
    return lua_error(L);
  }
  lua_pushboolean(L, status == 0);
  lua_replace(L, 1);
  return lua_gettop(L);
}

sandbox_limits sandbox_limits::from_env() {
  sandbox_limits l;
  if (const char* s = std::getenv("WB_RECIPE_TIME_LIMIT")) l.seconds = std::atof(s);
  if (const char* m = std::getenv("WB_RECIPE_MEMORY_LIMIT")) l.memory_bytes = size_t(std::atof(m) * (1 << 20));
  return l;
}

lua_sandbox* sandbox_of(lua_State* L) {
  lua_pushlightuserdata(L, &registry_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  auto* s = static_cast<lua_sandbox*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return s;
}

void* lua_sandbox::allocate(void* ud, void* ptr, size_t old_size, size_t new_size) {
  auto* s = static_cast<lua_sandbox*>(ud);
  size_t old = ptr ? old_size : 0;
  if (new_size == 0) {
    std::free(ptr);
    s->used_ -= old;
    return nullptr;
  }
  if (new_size > old && s->used_ - old + new_size > s->limits_.memory_bytes) {
    s->mark(sandbox_limit_hit::memory);
    return nullptr;
  }
  void* p = std::realloc(ptr, new_size);
  if (p) s->used_ = s->used_ - old + new_size;
  return p;
}

void lua_sandbox::hook(lua_State* L, lua_Debug*) {
  auto* s = sandbox_of(L);
  if (!s) return;
  if (s->hit_ == sandbox_limit_hit::none && std::chrono::steady_clock::now() > s->deadline_)
    s->mark(sandbox_limit_hit::time);
  if (s->hit_ != sandbox_limit_hit::none) luaL_error(L, "%s", s->limit_message().c_str());
}

void lua_sandbox::mark(sandbox_limit_hit hit) {
  if (hit_ == sandbox_limit_hit::none) hit_ = hit;
  if (shared_flag_) *shared_flag_ = static_cast<int>(hit_);
  // From now on every instruction raises the limit error, so no loop can outlive it.
  if (L_) lua_sethook(L_, hook, LUA_MASKCOUNT, 1);
}

std::string lua_sandbox::limit_message() const {
  if (hit_ == sandbox_limit_hit::time)
    return fmt::format("time limit exceeded: the recipe ran longer than {} s; a recipe should only declare "
                       "values (raise WB_RECIPE_TIME_LIMIT if it really needs more)", limits_.seconds);
  if (hit_ == sandbox_limit_hit::memory)
    return fmt::format("memory limit exceeded: the recipe allocated more than {} MiB (raise "
                       "WB_RECIPE_MEMORY_LIMIT if it really needs more)", limits_.memory_bytes >> 20);
  return "";
}

lua_sandbox::lua_sandbox(const sandbox_limits& limits, bool trust) : limits_(limits), trust_(trust) {
  L_ = trust ? luaL_newstate() : lua_newstate(allocate, this);
  if (!L_) throw std::runtime_error("cannot create a Lua state");
  lua_pushlightuserdata(L_, &registry_key);
  lua_pushlightuserdata(L_, this);
  lua_rawset(L_, LUA_REGISTRYINDEX);
  if (trust) {
    luaL_openlibs(L_);
  } else {
    // LuaJIT's count hook does not fire inside compiled traces: interpret only.
    luaJIT_setmode(L_, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    for (auto open : {luaopen_base, luaopen_table, luaopen_string, luaopen_math}) {
      lua_pushcfunction(L_, open);
      lua_call(L_, 0, 0);
    }
    lua_getglobal(L_, "string");
    lua_pushcfunction(L_, denied_dump);
    lua_setfield(L_, -2, "dump");  // bytecode out is bytecode in elsewhere: replace it everywhere
    lua_pop(L_, 1);
  }
  build_environment();
}

lua_sandbox::~lua_sandbox() {
  if (L_) lua_close(L_);
}

void lua_sandbox::build_environment() {
  lua_pushlightuserdata(L_, &env_key);
  if (trust_) {
    lua_pushvalue(L_, LUA_GLOBALSINDEX);
  } else {
    lua_newtable(L_);
    int env = lua_gettop(L_);
    for (const char* name : allowed_base) {
      lua_getglobal(L_, name);
      lua_setfield(L_, env, name);
    }
    lua_pushcfunction(L_, sandbox_pcall);
    lua_setfield(L_, env, "pcall");
    lua_pushcfunction(L_, sandbox_xpcall);
    lua_setfield(L_, env, "xpcall");
    lua_pushcfunction(L_, safe_getmetatable);
    lua_setfield(L_, env, "getmetatable");
    lua_pushcfunction(L_, safe_print);
    lua_setfield(L_, env, "print");
    for (const char* lib : {"string", "table", "math"}) copy_library(L_, env, lib);
    lua_newtable(L_);
    lua_pushcfunction(L_, env_index);
    lua_setfield(L_, -2, "__index");
    lua_pushliteral(L_, "sandbox");
    lua_setfield(L_, -2, "__metatable");
    lua_setmetatable(L_, env);
  }
  lua_rawset(L_, LUA_REGISTRYINDEX);
}

void lua_sandbox_push_env(lua_State* L) {
  lua_pushlightuserdata(L, &env_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

std::string lua_sandbox::run(const std::string& text, const std::string& chunkname) {
  if (!text.empty() && text[0] == '\x1b')
    return chunkname.substr(1) + ": binary chunks (bytecode) are not allowed in a recipe; ship its Lua source";
  if (luaL_loadbufferx(L_, text.data(), text.size(), chunkname.c_str(), trust_ ? "bt" : "t") != 0) {
    std::string err = lua_tostring(L_, -1) ? lua_tostring(L_, -1) : "cannot load the chunk";
    lua_pop(L_, 1);
    return err;
  }
  lua_sandbox_push_env(L_);
  lua_setfenv(L_, -2);
  deadline_ = std::chrono::steady_clock::now() +
              std::chrono::microseconds(static_cast<long long>(limits_.seconds * 1e6));
  if (!trust_) lua_sethook(L_, hook, LUA_MASKCOUNT, 1000);
  int status = lua_pcall(L_, 0, 1, 0);
  if (hit_ != sandbox_limit_hit::none) {
    if (status != 0) lua_pop(L_, 1);
    return limit_message();
  }
  if (status != 0) {
    const char* msg = lua_tostring(L_, -1);
    std::string err = msg ? msg : "error object is not a string";
    lua_pop(L_, 1);
    return err;
  }
  return "";
}

}  // namespace wb
