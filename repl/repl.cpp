// The read-eval-print loop: compiling a chunk (as an expression first), continuing an incomplete
// one, running it with Ctrl-C armed, printing values. See repl.hpp.
#include "repl/repl.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
}

#include "repl/interrupt.hpp"
#include "repl/line_input.hpp"
#include "repl/repl_context.hpp"

namespace wb {
namespace {

// Whether a syntax error only says the chunk has not ended yet (lua.c's test).
bool incomplete(lua_State* L, int status) {
  if (status != LUA_ERRSYNTAX) return false;
  size_t len = 0;
  const char* msg = lua_tolstring(L, -1, &len);
  const char eof[] = "'<eof>'";
  return len >= sizeof eof - 1 && std::strcmp(msg + len - (sizeof eof - 1), eof) == 0;
}

// Compiles `chunk`: `return <chunk>` first so that an expression's values print, then as is.
// Leaves the function (or the error) on the stack.
int compile(lua_State* L, const std::string& chunk) {
  std::string text = chunk.starts_with("=") ? "return " + chunk.substr(1) : chunk;
  std::string as_expression = "return " + text;
  if (luaL_loadbuffer(L, as_expression.data(), as_expression.size(), "=repl") == 0) return 0;
  lua_pop(L, 1);
  return luaL_loadbuffer(L, text.data(), text.size(), "=repl");
}

// A value as the prompt shows it: __tostring when it has one, lists and small tables inline.
std::string show(lua_State* L, int idx, int depth = 0) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  if (luaL_callmeta(L, idx, "__tostring")) {
    std::string s = lua_tostring(L, -1) ? lua_tostring(L, -1) : "?";
    lua_pop(L, 1);
    return s;
  }
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      std::string s = lua_tostring(L, idx);
      return depth ? "\"" + s + "\"" : s;
    }
    case LUA_TNUMBER: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.14g", lua_tonumber(L, idx));
      return buf;
    }
    case LUA_TTABLE: {
      if (depth > 1) return "{...}";
      std::string out = "{";
      int n = int(lua_objlen(L, idx)), shown = 0;
      for (int i = 1; i <= n && shown < 20; ++i, ++shown) {
        lua_rawgeti(L, idx, i);
        out += (i > 1 ? ", " : "") + show(L, -1, depth + 1);
        lua_pop(L, 1);
      }
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        bool array_key = lua_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -2) >= 1 &&
                         lua_tonumber(L, -2) <= n && lua_tonumber(L, -2) == (int)lua_tonumber(L, -2);
        if (!array_key) {
          if (++shown > 20) {
            lua_pop(L, 2);
            out += ", ...";
            break;
          }
          lua_pushvalue(L, -2);
          std::string key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "[" + show(L, -1, depth + 1) + "]";
          lua_pop(L, 1);
          out += (out.size() > 1 ? ", " : "") + key + " = " + show(L, -1, depth + 1);
        }
        lua_pop(L, 1);
      }
      return out + "}";
    }
    default: {
      lua_getglobal(L, "tostring");
      lua_pushvalue(L, idx);
      lua_call(L, 1, 1);
      std::string s = lua_tostring(L, -1) ? lua_tostring(L, -1) : "?";
      lua_pop(L, 1);
      return s;
    }
  }
}

int traceback(lua_State* L) {
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

// Runs the compiled chunk on top of the stack and prints its values or its error.
void run(lua_State* L, bool debug) {
  int base = lua_gettop(L);  // the function
  lua_pushcfunction(L, traceback);
  lua_insert(L, base);
  interrupt_begin_call(L);
  int status = lua_pcall(L, 0, LUA_MULTRET, debug ? base : 0);
  bool interrupted = interrupt_flag().load();
  interrupt_end_call();
  lua_remove(L, base);
  std::fflush(stdout);  // what the chunk printed comes before its error
  if (status != 0) {
    const char* msg = lua_tostring(L, -1);
    // The terminal echoed ^C where the cursor was: start the message on a line of its own.
    if (interrupted && isatty(STDOUT_FILENO)) std::fputc('\n', stderr);
    std::fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
    std::fflush(stderr);
    lua_settop(L, base - 1);
    return;
  }
  std::string line;
  for (int i = base; i <= lua_gettop(L); ++i) line += (i > base ? "\t" : "") + show(L, i);
  if (lua_gettop(L) >= base) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  lua_settop(L, base - 1);
}

}  // namespace

int repl_main(const repl_options& options) {
  std::setlocale(LC_CTYPE, "");
  repl_context ctx;
  ctx.trust = options.trust;
  if (const char* d = std::getenv("WB_DEFAULT_DATA")) ctx.default_data = d;
  ctx.interrupted = &interrupt_flag();
  ctx.planner = session_planner([](const std::string& s) {
    std::printf("%s\n", s.c_str());
    std::fflush(stdout);
  });
  if (!options.recipe.empty()) {
    try {
      eval_options eo;
      eo.trust = options.trust;
      ctx.session = std::make_unique<recipe_session>(options.recipe, eo);
    } catch (recipe_failure& f) {
      std::fputs(format_diagnostics(f.errors).c_str(), stderr);
      std::fprintf(stderr, "%zu error%s\n", f.errors.size(), f.errors.size() == 1 ? "" : "s");
      return 1;
    }
  }
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  // The interpreter, not the JIT: Lua hooks (Ctrl-C) do not fire inside compiled traces.
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  repl_register(L, ctx);
  interrupt_install();

  line_input input([&](const std::string& before) {
    std::vector<std::string> names = repl_function_names();
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) == LUA_TSTRING) names.push_back(lua_tostring(L, -2));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return complete_word(before, ctx.session ? &ctx.session->current().tree : nullptr, names);
  });
  if (input.interactive()) {
    if (ctx.session)
      std::printf("wb repl: %s (%s); help() lists what you can do, Ctrl-D leaves\n", ctx.session->config().name.c_str(),
                  display_path(ctx.session->path()).c_str());
    else
      std::printf("wb repl: no recipe open (open \"recipes/tiny_llama_cpt.lua\"); help() lists what you can do\n");
  }
  std::string chunk, line;
  while (true) {
    line_input::status st = input.read(chunk.empty() ? "wb> " : ".. ", line);
    if (st == line_input::status::end) break;
    if (st == line_input::status::interrupted) {
      chunk.clear();
      continue;
    }
    input.remember(line);
    chunk = chunk.empty() ? line : chunk + "\n" + line;
    int status = compile(L, chunk);
    if (incomplete(L, status)) {
      lua_pop(L, 1);
      continue;
    }
    chunk.clear();
    if (status != 0) {
      std::fflush(stdout);
      std::fprintf(stderr, "%s\n", lua_tostring(L, -1));
      std::fflush(stderr);
      lua_pop(L, 1);
      continue;
    }
    run(L, options.debug);
  }
  lua_close(L);
  return 0;
}

}  // namespace wb
