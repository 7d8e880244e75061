// The REPL's functions, each a few lines over the C++ that does the work: plan(), sweep{...},
// probe(steps), save "file", reset(), changes(), open "recipe", help().
#include <cstdio>
#include <fmt/format.h>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

#include "core/recipe/schema.hpp"
#include "repl/probe.hpp"
#include "repl/recipe_save.hpp"
#include "repl/repl_context.hpp"
#include "repl/sweep.hpp"

namespace wb {

void repl_register_recipe_proxy(lua_State* L);

namespace {

char context_key;

void say(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
}

int l_plan(lua_State* L) {
  return repl_guard(L, [&] {
    repl_context& ctx = repl_context_of(L);
    recipe_session& s = ctx.need_session();
    plan_result p;
    try {
      p = ctx.planner.plan(s.config());
    } catch (plan_error& e) {
      throw repl_error(plan_error_text(s.current(), e));
    }
    say(plan_text(p));
    if (ctx.last_plan) {
      if (ctx.last_plan_hash == s.current().hash) say("(the recipe has not changed since the previous plan)");
      else say("changes against the previous plan:\n" + plan_diff_text(*ctx.last_plan, p));
    }
    ctx.last_plan = p;
    ctx.last_plan_hash = s.current().hash;
    return 0;
  });
}

int l_sweep(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  std::vector<sweep_axis> axes;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      return luaL_error(L, "sweep expects field paths as keys: sweep{[\"parallel.microbatch\"] = {1, 2, 4, 8}}");
    sweep_axis a{lua_tostring(L, -2), {}};
    auto value = [&](int idx) {
      switch (lua_type(L, idx)) {
        case LUA_TNUMBER: return recipe_value::number(lua_tonumber(L, idx));
        case LUA_TBOOLEAN: return recipe_value::boolean(lua_toboolean(L, idx));
        default: return recipe_value::string(lua_tostring(L, idx) ? lua_tostring(L, idx) : luaL_typename(L, idx));
      }
    };
    if (lua_istable(L, -1)) {
      for (int i = 1; i <= int(lua_objlen(L, -1)); ++i) {
        lua_rawgeti(L, -1, i);
        a.values.push_back(value(-1));
        lua_pop(L, 1);
      }
    } else {
      a.values.push_back(value(-1));
    }
    axes.push_back(std::move(a));
    lua_pop(L, 1);
  }
  return repl_guard(L, [&] {
    repl_context& ctx = repl_context_of(L);
    auto rows = sweep_run(ctx.need_session(), ctx.planner, axes, ctx.interrupted);
    say(sweep_table(rows));
    return 0;
  });
}

int l_probe(lua_State* L) {
  long long steps = (long long)luaL_optinteger(L, 1, 3);
  return repl_guard(L, [&] {
    repl_context& ctx = repl_context_of(L);
    probe_options o;
    o.steps = steps;
    o.default_data = ctx.default_data;
    o.stop = ctx.interrupted;
    say(fmt::format("probe: training {} step{} on this machine ...", steps, steps == 1 ? "" : "s"));
    probe_result p = probe_run(ctx.need_session().config(), ctx.planner, o);
    say(probe_table(p));
    return 0;
  });
}

int l_save(lua_State* L) {
  std::string path = luaL_checkstring(L, 1);
  return repl_guard(L, [&] {
    recipe_session& s = repl_context_of(L).need_session();
    save_result r = recipe_save(s, path);
    std::string fields;
    for (auto& e : r.fields) fields += fmt::format("\n  {} = {}", e.path, e.value.describe());
    say(fmt::format("wrote {}: extends \"{}\"{}{}", r.path, r.extends,
                    r.fields.empty() ? " with no changes" : ", sets:", fields));
    if (r.renamed) say(fmt::format("(name set to \"{}\" so its runs do not mix with the original's)", s.config().name));
    return 0;
  });
}

int l_reset(lua_State* L) {
  std::string path = luaL_optstring(L, 1, "");
  return repl_guard(L, [&] {
    recipe_session& s = repl_context_of(L).need_session();
    diagnostics errors = s.reset(path);
    if (!errors.empty()) throw recipe_failure{errors};
    say(path.empty() ? "all edits undone" : "edits of " + path + " undone");
    return 0;
  });
}

int l_changes(lua_State* L) {
  return repl_guard(L, [&] {
    recipe_session& s = repl_context_of(L).need_session();
    auto changes = s.changes();
    std::string out = changes.empty() ? "no changes to " + display_path(s.path()) : "changed from " + display_path(s.path()) + ":";
    for (auto& e : changes) {
      const recipe_value* before = s.original_tree().at_path(e.path);
      out += fmt::format("\n  {} = {} (was {})", e.path, e.value.describe(), before ? before->describe() : "nil");
    }
    say(out);
    return 0;
  });
}

int l_open(lua_State* L) {
  std::string path = luaL_checkstring(L, 1);
  int status = repl_guard(L, [&] {
    repl_context& ctx = repl_context_of(L);
    eval_options options;
    options.trust = ctx.trust;
    ctx.session = std::make_unique<recipe_session>(path, options);
    ctx.last_plan.reset();
    say(fmt::format("{} (recipe_hash {})", ctx.session->config().name, ctx.session->current().hash.substr(0, 16)));
    return 0;
  });
  repl_push_recipe_global(L);
  return status;
}

int l_help(lua_State* L) {
  say("r                      the recipe: r.parallel.microbatch reads a field, `r.parallel.microbatch = 4` sets it\n"
      "                       (checked like a command-line override), `= nil` undoes it; print(r) shows it all\n"
      "plan()                 the plan of the recipe as it is now, and what changed since the previous plan()\n"
      "sweep{[\"key\"] = {...}} one plan per combination of values, e.g. sweep{[\"parallel.microbatch\"] = {1, 2, 4, 8}}\n"
      "probe(steps)           train a few steps here (rehearsal-sized if need be): measured vs predicted memory and time\n"
      "save \"file.lua\"        write the tuned recipe: extends the original, sets only what changed\n"
      "changes()              the edits made so far; reset() undoes them all, reset \"key\" one\n"
      "open \"recipe.lua\"      open another recipe\n"
      "Tab completes r. fields and these names; Ctrl-C interrupts a call or clears the line; Ctrl-D leaves.");
  return 0;
}

const luaL_Reg functions[] = {{"plan", l_plan},     {"sweep", l_sweep},   {"probe", l_probe}, {"save", l_save},
                              {"reset", l_reset},   {"changes", l_changes}, {"open", l_open}, {"help", l_help},
                              {nullptr, nullptr}};

}  // namespace

recipe_session& repl_context::need_session() const {
  if (!session) throw repl_error("no recipe is open: open one with open \"recipes/tiny_llama_cpt.lua\" (or start wb repl RECIPE)");
  return *session;
}

repl_context& repl_context_of(lua_State* L) {
  lua_pushlightuserdata(L, &context_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  auto* ctx = static_cast<repl_context*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return *ctx;
}

int repl_raise(lua_State* L, const std::string& message) {
  std::string text = message;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  lua_pushlstring(L, text.data(), text.size());
  return lua_error(L);
}

const std::vector<std::string>& repl_function_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out{"r"};
    for (const luaL_Reg* f = functions; f->name; ++f) out.push_back(f->name);
    return out;
  }();
  return names;
}

void repl_register(lua_State* L, repl_context& ctx) {
  lua_pushlightuserdata(L, &context_key);
  lua_pushlightuserdata(L, &ctx);
  lua_rawset(L, LUA_REGISTRYINDEX);
  for (const luaL_Reg* f = functions; f->name; ++f) {
    lua_pushcfunction(L, f->func);
    lua_setglobal(L, f->name);
  }
  repl_register_recipe_proxy(L);
}

}  // namespace wb
