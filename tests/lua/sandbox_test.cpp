// Shared recipes are untrusted code: each attack must fail closed with a clear message, and wb
// itself must survive (evaluation runs in a child process; see lua/recipe_eval.hpp).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "tests/support/recipe_fixture.hpp"

using namespace wb::test;

namespace {

// Short limits keep the suite fast; the defaults (2 s, 256 MiB) are exercised by the CLI tests.
struct short_limits {
  short_limits() {
    setenv("WB_RECIPE_TIME_LIMIT", "0.5", 1);
    setenv("WB_RECIPE_MEMORY_LIMIT", "64", 1);
  }
  ~short_limits() {
    unsetenv("WB_RECIPE_TIME_LIMIT");
    unsetenv("WB_RECIPE_MEMORY_LIMIT");
  }
};

// Memory attacks get a generous time limit: on a loaded machine, filling 64 MiB can take longer
// than 0.5 s of wall time, and the test is about which limit stops them.
struct memory_limits {
  memory_limits() {
    setenv("WB_RECIPE_TIME_LIMIT", "20", 1);
    setenv("WB_RECIPE_MEMORY_LIMIT", "64", 1);
  }
  ~memory_limits() {
    unsetenv("WB_RECIPE_TIME_LIMIT");
    unsetenv("WB_RECIPE_MEMORY_LIMIT");
  }
};

const std::string time_limit =
    "x.lua: time limit exceeded: the recipe ran longer than 0.5 s; a recipe should only declare values (raise "
    "WB_RECIPE_TIME_LIMIT if it really needs more)\n";
const std::string time_limit_stopped =
    "x.lua: time limit exceeded: the recipe ran longer than 0.5 s and was stopped; a recipe should only declare "
    "values (raise WB_RECIPE_TIME_LIMIT if it really needs more)\n";
const std::string memory_limit =
    "x.lua: memory limit exceeded: the recipe allocated more than 64 MiB (raise WB_RECIPE_MEMORY_LIMIT if it "
    "really needs more)\n";

std::string denied(const std::string& name, int line = 1) {
  return "x.lua:" + std::to_string(line) + ": '" + name +
         "' is not available in a recipe: recipes are sandboxed and cannot read or write files, run commands, "
         "open sockets or load code (use --trust for your own recipes)\n";
}

}  // namespace

TEST_CASE("an infinite loop is stopped by the time limit", "[sandbox][attack]") {
  short_limits limits;
  CHECK(check_text("while true do end\n") == time_limit);
}

TEST_CASE("an infinite loop inside pcall cannot swallow the time limit", "[sandbox][attack]") {
  short_limits limits;
  CHECK(check_text("while true do pcall(function() while true do end end) end\n") == time_limit);
}

TEST_CASE("a pcall that returns the limit error cannot carry on", "[sandbox][attack]") {
  short_limits limits;
  CHECK(check_text("local ok, e = pcall(function() while true do end end)\nreturn recipe { name = tostring(e) }\n") ==
        time_limit);
}

TEST_CASE("xpcall with a handler cannot swallow the memory limit", "[sandbox][attack]") {
  short_limits limits;
  CHECK(check_text("local t = {}\nwhile true do xpcall(function() while true do t[#t + 1] = (\"x\"):rep(1e5) .. #t "
                   "end end, function(e) return e end) end\n") == memory_limit);
}

TEST_CASE("a memory bomb of growing tables is stopped by the memory limit", "[sandbox][attack]") {
  memory_limits limits;
  CHECK(check_text("local t = {}\nfor i = 1, 1e9 do t[i] = (\"x\"):rep(1000) .. i end\n") == memory_limit);
}

TEST_CASE("a string.rep bomb is stopped by the memory limit", "[sandbox][attack]") {
  memory_limits limits;
  CHECK(check_text("local s = string.rep(\"x\", 2^30)\n") == memory_limit);
}

TEST_CASE("a hang inside a C function is stopped by the parent's deadline", "[sandbox][attack]") {
  short_limits limits;
  auto start = std::chrono::steady_clock::now();
  // Backtracking in Lua's pattern matcher runs in C, where no instruction hook fires.
  CHECK(check_text("local s = string.rep(\"a\", 30000)\nreturn s:find(\".-.-.-.-.-.-.-.-b\")\n") ==
        time_limit_stopped);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("io.open is not available", "[sandbox][attack]") {
  CHECK(check_text("local f = io.open(\"/etc/passwd\")\n") == denied("io"));
}

TEST_CASE("os.execute is not available and runs nothing", "[sandbox][attack]") {
  recipe_dir dir;
  CHECK(check(dir.write("x.lua", "os.execute(\"touch pwned\")\n")) == denied("os"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "pwned"));
}

TEST_CASE("require of ffi is refused", "[sandbox][attack]") {
  CHECK(check_text("local ffi = require \"ffi\"\n") ==
        "x.lua:1: module 'ffi' is not available in a recipe: recipes may require only wb.catalog and wb.models; to "
        "build on another recipe, write extends = \"ffi\"\n");
}

TEST_CASE("package.loadlib is not reachable", "[sandbox][attack]") {
  CHECK(check_text("package.loadlib(\"libc.so.6\", \"system\")\n") == denied("package"));
}

TEST_CASE("string.dump cannot produce bytecode", "[sandbox][attack]") {
  CHECK(check_text("local b = string.dump(function() end)\n") ==
        "x.lua:1: 'string.dump' is not available in a recipe: recipes are sandboxed and cannot load or produce "
        "bytecode (use --trust for your own recipes)\n");
}

TEST_CASE("a bytecode file is refused", "[sandbox][attack]") {
  CHECK(check_text(std::string("\x1bLJ\x02\x0a", 5) + "payload") ==
        "x.lua: binary chunks (bytecode) are not allowed in a recipe; ship its Lua source\n");
}

TEST_CASE("loadstring and load are not available", "[sandbox][attack]") {
  CHECK(check_text("loadstring(\"return 1\")()\n") == denied("loadstring"));
  CHECK(check_text("load(function() return nil end)\n") == denied("load"));
}

TEST_CASE("getfenv cannot reach the real globals", "[sandbox][attack]") {
  CHECK(check_text("local g = getfenv(0)\n") == denied("getfenv"));
}

TEST_CASE("setmetatable on the globals table is not possible", "[sandbox][attack]") {
  CHECK(check_text("setmetatable(_G, { __index = function() end })\n") == denied("_G"));
}

TEST_CASE("the string metatable does not lead to the real string library", "[sandbox][attack]") {
  CHECK(check_text("local mt = getmetatable(\"\")\nreturn mt.__index.dump\n") ==
        "x.lua:2: attempt to index local 'mt' (a nil value)\n");
}

TEST_CASE("the sandbox environment's metatable is protected", "[sandbox][attack]") {
  CHECK(check_text("local e = setmetatable({}, { __index = function(t, k) return debug end })\nreturn e.x\n") ==
        denied("debug"));
}

TEST_CASE("coroutines are not available", "[sandbox][attack]") {
  CHECK(check_text("local co = coroutine.create(print)\n") == denied("coroutine"));
}

TEST_CASE("dofile cannot read another file", "[sandbox][attack]") {
  CHECK(check_text("dofile(\"/etc/passwd\")\n") == denied("dofile"));
}

TEST_CASE("the trust flag lifts the sandbox for one's own recipes", "[sandbox][trust]") {
  recipe_dir dir;
  dir.write("value.txt", "7");
  std::string text = edited("layers = 4", "layers = tonumber(io.open(\"value.txt\"):read(\"*a\"))");
  std::string file = dir.write("x.lua", text);
  CHECK(check(file) == denied("io", 5));
  wb::eval_options trusted;
  trusted.trust = true;
  auto r = wb::recipe_load(file, {}, trusted);
  REQUIRE(r.ok());
  CHECK(r.config->model.layers == 7);
}

TEST_CASE("recipes may still use the safe parts of Lua", "[sandbox]") {
  recipe_dir dir;
  std::string text = edited("layers = 4", "layers = math.max(2, #(\"abcd\"))",
                            edited("name = \"t\"", "name = string.format(\"t%d\", select(\"#\", 1, 2))"));
  auto r = wb::recipe_load(dir.write("x.lua", text), {});
  REQUIRE(r.ok());
  CHECK(r.config->name == "t2");
  CHECK(r.config->model.layers == 4);
}
