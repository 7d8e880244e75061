// Constructors tag each table with the line of the call (`parallel {` on line 12), in a weak-keyed
// registry table; conversion then refines each key's line with lua_source_index. A model block is
// callable: `models.llama3_8b { seq_len = 4096 }` derives a block whose base is the preset.
#include "lua/wrap_recipe.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

#include "lua/embedded_modules.hpp"
#include "lua/sandbox.hpp"

namespace wb {

void lua_sandbox_push_env(lua_State* L);

namespace {
char blocks_key;     // weak table: block table -> {kind, file, line, base}
char modules_key;    // loaded modules: name -> value
char model_mt_key;   // metatable making model blocks callable

const char* const constructor_names[] = {"recipe", "model", "data", "source", "parallel",
                                         "cluster", "optim", "train", "checkpoint"};

void push_registry(lua_State* L, char* key) {
  lua_pushlightuserdata(L, key);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

// Records the caller's file and line for the table at `idx`; base (or nil) at `base_idx`.
void tag_block(lua_State* L, int idx, const char* kind, int base_idx) {
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  lua_Debug ar;
  std::string file;
  int line = 0;
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.source[0] == '@') {
    file = ar.source + 1;
    line = ar.currentline > 0 ? ar.currentline : 0;  // 0 after a tail call (`return recipe {...}`)
  }
  push_registry(L, &blocks_key);
  lua_pushvalue(L, idx);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, file.c_str());
  lua_setfield(L, -2, "file");
  lua_pushinteger(L, line);
  lua_setfield(L, -2, "line");
  if (base_idx) {
    lua_pushvalue(L, base_idx);
    lua_setfield(L, -2, "base");
  }
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

int constructor(lua_State* L) {
  const char* kind = lua_tostring(L, lua_upvalueindex(1));
  if (lua_type(L, 1) != LUA_TTABLE)
    return luaL_error(L, "%s expects a table: %s { ... }, got %s", kind, kind, luaL_typename(L, 1));
  lua_settop(L, 1);
  tag_block(L, 1, kind, 0);
  if (std::strcmp(kind, "model") == 0) {
    push_registry(L, &model_mt_key);
    lua_setmetatable(L, 1);
  }
  return 1;
}

// preset { overrides }: the overrides table becomes a model block whose base is the preset.
int derive_model(lua_State* L) {
  if (lua_type(L, 2) != LUA_TTABLE)
    return luaL_error(L, "a model preset is called with a table of changes: llama3_8b { seq_len = 4096 }");
  lua_settop(L, 2);
  tag_block(L, 2, "model", 1);
  push_registry(L, &model_mt_key);
  lua_setmetatable(L, 2);
  return 1;
}

int sandbox_require(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  push_registry(L, &modules_key);
  lua_getfield(L, -1, name);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  for (auto& m : embedded_modules()) {
    if (std::strcmp(m.name, name) != 0) continue;
    std::string chunk = std::string("@") + m.file;
    if (luaL_loadbufferx(L, m.text, std::strlen(m.text), chunk.c_str(), "t") != 0) return lua_error(L);
    lua_sandbox_push_env(L);
    lua_setfenv(L, -2);
    lua_call(L, 0, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
    return 1;
  }
  return luaL_error(L, "module '%s' is not available in a recipe: recipes may require only wb.catalog and "
                       "wb.models; to build on another recipe, write extends = \"%s\"", name, name);
}

struct converter {
  lua_State* L;
  diagnostics& errors;
  std::map<std::string, std::unique_ptr<lua_source_index>> indices;
  std::string main_file;
  int depth = 0;

  const lua_source_index* index_of(const std::string& file) {
    auto it = indices.find(file);
    if (it != indices.end()) return it->second.get();
    for (auto& m : embedded_modules())
      if (file == m.file) return (indices[file] = std::make_unique<lua_source_index>(m.text)).get();
    return nullptr;
  }

  void fail(const source_loc& loc, const std::string& path, const std::string& given, const std::string& expected,
            const std::string& got) {
    errors.push_back({loc, path.empty() ? "recipe" : path, given, expected, got});
  }

  // Block info of the table at idx: fills loc and pushes the base (or nothing). Returns has_base.
  bool block_info(int idx, source_loc& loc) {
    push_registry(L, &blocks_key);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    bool has_base = false;
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "file");
      lua_getfield(L, -2, "line");
      std::string file = lua_tostring(L, -2);
      int line = (int)lua_tointeger(L, -1);
      lua_pop(L, 2);
      if (!file.empty()) {
        loc.file = file;
        if (line > 0) loc.line = line;
        else if (auto* ix = index_of(file); ix && ix->return_table_line()) loc.line = ix->return_table_line();
      }
      lua_getfield(L, -1, "base");
      has_base = !lua_isnil(L, -1);
      if (has_base) {
        lua_replace(L, -3);  // base replaces the blocks table
        lua_pop(L, 1);
        return true;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return false;
  }

  recipe_value convert(int idx, source_loc loc, const std::string& path) {
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    switch (lua_type(L, idx)) {
      case LUA_TNIL: { recipe_value v; v.loc = loc; return v; }
      case LUA_TBOOLEAN: return recipe_value::boolean(lua_toboolean(L, idx), loc);
      case LUA_TNUMBER: {
        double n = lua_tonumber(L, idx);
        if (!std::isfinite(n)) fail(loc, path, format_number(n), "a finite number", format_number(n));
        return recipe_value::number(n, loc);
      }
      case LUA_TSTRING: return recipe_value::string(lua_tostring(L, idx), loc);
      case LUA_TTABLE: return convert_table(idx, loc, path);
      default:
        fail(loc, path, "", "a value (number, string, boolean or table)", std::string("a ") + luaL_typename(L, idx));
        return {};
    }
  }

  recipe_value convert_table(int idx, source_loc loc, const std::string& path) {
    if (++depth > 32) {
      fail(loc, path, "", "a table nested at most 32 deep", "a deeper (or self-referencing) table");
      --depth;
      return {};
    }
    recipe_value base;
    if (block_info(idx, loc)) {
      base = convert(-1, loc, path);
      lua_pop(L, 1);
    }
    // Collect keys: strings become fields, 1..n integers a list.
    std::vector<std::string> keys;
    size_t integer_keys = 0, other_keys = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) == LUA_TSTRING) keys.emplace_back(lua_tostring(L, -1));
      else if (lua_type(L, -1) == LUA_TNUMBER) ++integer_keys;
      else ++other_keys;
    }
    size_t n = lua_objlen(L, idx);
    recipe_value out;
    if (keys.empty() && other_keys == 0 && integer_keys > 0) {
      if (n != integer_keys) fail(loc, path, "", "a list without holes", "a table with numeric keys");
      out = recipe_value::list(loc);
      for (size_t i = 1; i <= n; ++i) {
        lua_rawgeti(L, idx, (int)i);
        out.push(convert(-1, loc, path + "[" + std::to_string(i) + "]"));
        lua_pop(L, 1);
      }
    } else {
      if (integer_keys || other_keys)
        fail(loc, path, "", "a table with named fields only", "a table mixing named and positional entries");
      out = recipe_value::table(loc);
      const lua_source_index* ix = index_of(loc.file);
      std::vector<std::pair<int, std::string>> ordered;
      for (auto& k : keys) {
        int line = ix && loc.line ? ix->key_line(loc.line, k) : 0;
        ordered.emplace_back(line ? line : loc.line, k);
      }
      std::sort(ordered.begin(), ordered.end());  // fields in the order they were written
      for (auto& [line, k] : ordered) {
        lua_getfield(L, idx, k.c_str());
        out.set(k, convert(-1, {loc.file, line}, path.empty() ? k : path + "." + k));
        lua_pop(L, 1);
      }
    }
    --depth;
    if (base.is_table()) {
      recipe_merge(base, out);
      base.loc = loc;
      return base;
    }
    return out;
  }
};

}  // namespace

void recipe_constructors_register(lua_State* L) {
  lua_pushlightuserdata(L, &blocks_key);
  lua_newtable(L);
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);

  lua_pushlightuserdata(L, &modules_key);
  lua_newtable(L);
  lua_rawset(L, LUA_REGISTRYINDEX);

  lua_pushlightuserdata(L, &model_mt_key);
  lua_newtable(L);
  lua_pushcfunction(L, derive_model);
  lua_setfield(L, -2, "__call");
  lua_rawset(L, LUA_REGISTRYINDEX);

  lua_sandbox_push_env(L);
  int env = lua_gettop(L);
  for (const char* name : constructor_names) {
    lua_pushstring(L, name);
    lua_pushcclosure(L, constructor, 1);
    lua_setfield(L, env, name);
  }
  lua_pushcfunction(L, sandbox_require);
  lua_setfield(L, env, "require");
  lua_pop(L, 1);
}

recipe_value recipe_value_from_lua(lua_State* L, const std::string& file, const std::string& source,
                                   diagnostics& errors) {
  converter c{L, errors, {}, file};
  c.indices[file] = std::make_unique<lua_source_index>(source);
  source_loc loc{file, 0};
  if (lua_istable(L, -1)) {
    loc.line = c.indices[file]->return_table_line();
  }
  return c.convert(-1, loc, "");
}

}  // namespace wb
