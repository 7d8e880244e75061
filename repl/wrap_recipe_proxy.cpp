// `r`: the session's recipe as Lua sees it. `r.parallel` is a proxy for the section, `r.parallel.tp`
// reads the value, `r.parallel.tp = 2` is an edit validated like a command-line override (an error
// raises the message `wb check` would print and changes nothing), `r.parallel.tp = nil` forgets
// the edit, and printing a proxy shows its fields and where each was written.
#include <new>
#include <string>

#include <fmt/format.h>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

#include "core/recipe/canonical.hpp"
#include "core/recipe/schema.hpp"
#include "repl/repl_context.hpp"

namespace wb {

namespace {

const char* const proxy_type = "wb.recipe";

struct proxy {
  std::string path;  // "" for r itself
};

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

void push_proxy(lua_State* L, const std::string& path) {
  void* mem = lua_newuserdata(L, sizeof(proxy));
  new (mem) proxy{path};
  luaL_getmetatable(L, proxy_type);
  lua_setmetatable(L, -2);
}

proxy& check_proxy(lua_State* L, int idx) { return *static_cast<proxy*>(luaL_checkudata(L, idx, proxy_type)); }

void push_value(lua_State* L, const recipe_value& v) {
  switch (v.type()) {
    case recipe_value::kind::nil: lua_pushnil(L); break;
    case recipe_value::kind::boolean: lua_pushboolean(L, v.as_bool()); break;
    case recipe_value::kind::number: lua_pushnumber(L, v.as_number()); break;
    case recipe_value::kind::string: lua_pushlstring(L, v.as_string().data(), v.as_string().size()); break;
    case recipe_value::kind::list:
      lua_createtable(L, int(v.items().size()), 0);
      for (size_t i = 0; i < v.items().size(); ++i) {
        push_value(L, v.items()[i]);
        lua_rawseti(L, -2, int(i + 1));
      }
      break;
    case recipe_value::kind::table: break;  // tables are proxies (see proxy_index)
  }
}

// The Lua value at idx as recipe edits of `path`: a scalar or a list is one edit, a table of named
// fields one edit per field (all applied together). Returns "" or why the value cannot be a recipe
// value.
std::string collect_edits(lua_State* L, int idx, const std::string& path, bool add, std::vector<recipe_edit>& out) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: out.push_back({path, recipe_value::boolean(lua_toboolean(L, idx)), add}); return "";
    case LUA_TNUMBER: out.push_back({path, recipe_value::number(lua_tonumber(L, idx)), add}); return "";
    case LUA_TSTRING: out.push_back({path, recipe_value::string(lua_tostring(L, idx)), add}); return "";
    case LUA_TTABLE: {
      size_t n = lua_objlen(L, idx);
      if (n > 0) {
        recipe_value list = recipe_value::list();
        for (size_t i = 1; i <= n; ++i) {
          lua_rawgeti(L, idx, int(i));
          if (lua_type(L, -1) == LUA_TNUMBER) list.push(recipe_value::number(lua_tonumber(L, -1)));
          else if (lua_type(L, -1) == LUA_TSTRING) list.push(recipe_value::string(lua_tostring(L, -1)));
          else list.push(recipe_value::boolean(lua_toboolean(L, -1)));
          lua_pop(L, 1);
        }
        out.push_back({path, list, add});
        return "";
      }
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
          lua_pop(L, 2);
          return fmt::format("{}: a table of named fields (parallel = {{ tp = 2 }}) or a list", path);
        }
        std::string key = lua_tostring(L, -2);
        std::string err = collect_edits(L, -1, join(path, key), add, out);
        lua_pop(L, 1);
        if (!err.empty()) {
          lua_pop(L, 1);
          return err;
        }
      }
      return "";
    }
    default:
      return fmt::format("{}: expected a number, string, boolean or table, got a {}", path, luaL_typename(L, idx));
  }
}

int proxy_index(lua_State* L) {
  proxy& p = check_proxy(L, 1);
  const char* key = luaL_checkstring(L, 2);
  return repl_guard(L, [&] {
    recipe_session& s = repl_context_of(L).need_session();
    const recipe_value& tree = s.current().tree;
    std::string why = recipe_field_problem(tree, p.path, key);
    if (!why.empty()) throw repl_error(why);
    std::string path = join(p.path, key);
    const recipe_value* v = tree.at_path(path);
    if (v && v->is_table()) push_proxy(L, path);
    else if (v) push_value(L, *v);
    else lua_pushnil(L);
    return 1;
  });
}

// r.<parent>.<key> = value at index 3: edits, then one line per field that changed.
void assign(lua_State* L, recipe_session& s, const std::string& parent, const std::string& key) {
  std::string path = join(parent, key);
  std::vector<recipe_edit> edits;
  if (lua_isnil(L, 3)) {
    edits.push_back({path, {}});
  } else {
    // A whole new entry of a map (a new data source) is added as `+data.sources.web.path=...` does.
    const field_spec* spec = schema_find(parent);
    bool add = spec && spec->type == field_type::map && !s.current().tree.at_path(path);
    std::string error = collect_edits(L, 3, path, add, edits);
    if (!error.empty()) throw repl_error(error);
  }
  recipe_value before = s.current().tree;
  diagnostics errors = lua_isnil(L, 3) ? s.reset(path) : s.set(edits);
  if (!errors.empty()) throw recipe_failure{errors};
  for (auto& e : edits) {
    const recipe_value* was = before.at_path(e.path);
    const recipe_value* now = s.current().tree.at_path(e.path);
    std::string was_text = was ? was->describe() : "nil", now_text = now ? now->describe() : "nil";
    if (was_text != now_text) std::printf("%s = %s (was %s)\n", e.path.c_str(), now_text.c_str(), was_text.c_str());
  }
}

// The fields under `path` as `wb show` lists them, each with where it was written.
std::string proxy_text(const recipe_session& s, const std::string& path) {
  const recipe_value* v = s.current().tree.at_path(path);
  if (!v) return "nil";
  // recipe_to_text prints from the root: wrap the section back into its path.
  recipe_value wrapped = *v;
  std::string rest = path;
  while (!rest.empty()) {
    auto dot = rest.rfind('.');
    recipe_value t = recipe_value::table();
    t.set(dot == std::string::npos ? rest : rest.substr(dot + 1), wrapped);
    wrapped = t;
    rest = dot == std::string::npos ? "" : rest.substr(0, dot);
  }
  std::string text = recipe_to_text(wrapped);
  if (path.empty()) text += "recipe_hash " + s.current().hash + "\n";
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

int proxy_newindex(lua_State* L) {
  proxy& p = check_proxy(L, 1);
  const char* key = luaL_checkstring(L, 2);
  return repl_guard(L, [&] {
    assign(L, repl_context_of(L).need_session(), p.path, key);
    return 0;
  });
}

int proxy_tostring(lua_State* L) {
  proxy& p = check_proxy(L, 1);
  return repl_guard(L, [&] {
    std::string text = proxy_text(repl_context_of(L).need_session(), p.path);
    lua_pushlstring(L, text.data(), text.size());
    return 1;
  });
}

int proxy_gc(lua_State* L) {
  check_proxy(L, 1).~proxy();
  return 0;
}

}  // namespace

void repl_push_recipe_global(lua_State* L) {
  if (repl_context_of(L).session) push_proxy(L, "");
  else lua_pushnil(L);
  lua_setglobal(L, "r");
}

void repl_register_recipe_proxy(lua_State* L) {
  luaL_newmetatable(L, proxy_type);
  lua_pushcfunction(L, proxy_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, proxy_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, proxy_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, proxy_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  repl_push_recipe_global(L);
}

}  // namespace wb
