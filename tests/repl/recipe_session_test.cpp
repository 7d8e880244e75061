// The REPL's recipe session: edits resolve like command-line overrides, an invalid edit changes
// nothing and reads as `wb check` would print it, and changes() lists what differs from the file.
#include <catch2/catch.hpp>

#include "repl/recipe_session.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("an edit re-resolves the recipe as the same override on the command line would", "[repl][session]") {
  recipe_dir dir;
  recipe_session s(dir.write("x.lua", base_recipe));
  REQUIRE(s.set({{"parallel.microbatch", recipe_value::number(4)}}).empty());
  CHECK(s.config().parallel.microbatch == 4);
  auto same = recipe_load("x.lua", {"parallel.microbatch=4"});
  CHECK(s.current().hash == same.hash);
  CHECK(s.current().tree.at_path("parallel.microbatch")->loc.str() == "repl (parallel.microbatch=4)");
}

TEST_CASE("an invalid edit returns the diagnostics and leaves the recipe as it was", "[repl][session]") {
  recipe_dir dir;
  recipe_session s(dir.write("x.lua", base_recipe));
  std::string before = s.current().hash;
  SECTION("a value out of range") {
    CHECK(format_diagnostics(s.set({{"parallel.microbatch", recipe_value::number(0)}})) ==
          "repl (parallel.microbatch=0): Invalid 'parallel.microbatch' 0: expected an integer >= 1, got 0\n");
  }
  SECTION("a string where a number belongs stays a string, even when it looks like one") {
    CHECK(format_diagnostics(s.set({{"parallel.microbatch", recipe_value::string("4")}})) ==
          "repl (parallel.microbatch=\"4\"): Invalid 'parallel.microbatch' \"4\": expected an integer >= 1, got a string \"4\"\n");
  }
  SECTION("an unknown key") {
    CHECK(format_diagnostics(s.set({{"parallel.microbach", recipe_value::number(2)}})) ==
          "repl (parallel.microbach=2): Invalid 'parallel.microbach': expected a key of the recipe, got no such key\n"
          "  hint: did you mean 'parallel.microbatch'?\n");
  }
  SECTION("a layout rule across fields, and the edits given together are all refused") {
    CHECK_THAT(format_diagnostics(s.set({{"optim.lr", recipe_value::number(0.5)}, {"parallel.microbatch", recipe_value::number(3)}})),
               Catch::Contains("Invalid 'parallel.global_batch' 8: expected a multiple of microbatch*dp"));
    CHECK(s.config().optim.lr == 1e-3);
  }
  CHECK(s.current().hash == before);
  CHECK(s.changes().empty());
}

TEST_CASE("changes() lists the edits that differ from the file and reset forgets them", "[repl][session]") {
  recipe_dir dir;
  recipe_session s(dir.write("x.lua", base_recipe));
  REQUIRE(s.set({{"parallel.microbatch", recipe_value::number(4)}}).empty());
  REQUIRE(s.set({{"train.steps", recipe_value::number(10)}}).empty());  // as in the file: not a change
  REQUIRE(s.set({{"parallel.recompute", recipe_value::string("full")}}).empty());
  REQUIRE(s.set({{"parallel.microbatch", recipe_value::number(8)}}).empty());  // replaces the first edit
  auto changes = s.changes();
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].path == "parallel.microbatch");
  CHECK(changes[0].value.as_number() == 8);
  CHECK(changes[1].path == "parallel.recompute");
  REQUIRE(s.reset("parallel.recompute").empty());
  CHECK(s.config().parallel.recompute == "none");
  REQUIRE(s.reset("").empty());
  CHECK(s.changes().empty());
  CHECK(s.config().parallel.microbatch == 2);
}

TEST_CASE("a new map entry is added as +key=value adds it, and a typo in an entry's name is refused", "[repl][session]") {
  recipe_dir dir;
  recipe_session s(dir.write("x.lua", base_recipe));
  REQUIRE(s.set({{"data.sources.code.path", recipe_value::string("code"), true},
                 {"data.sources.code.weight", recipe_value::number(0.2), true}})
              .empty());
  CHECK(s.config().data.sources.size() == 3);
  CHECK_THAT(format_diagnostics(s.set({{"data.sources.jaa.weight", recipe_value::number(0.5)}})),
             Catch::Contains("hint: did you mean 'ja'?"));
}

TEST_CASE("a recipe with errors cannot be opened: the session throws every diagnostic", "[repl][session]") {
  recipe_dir dir;
  dir.write("bad.lua", edited("    layers = 4,\n", "    layers = 0,\n"));
  try {
    recipe_session s("bad.lua");
    FAIL("opened an invalid recipe");
  } catch (recipe_failure& f) {
    CHECK(format_diagnostics(f.errors) == "bad.lua:5: Invalid 'model.layers' 0: expected an integer >= 1, got 0\n");
  }
}

TEST_CASE("lua_literal writes values as Lua source that reads back the same", "[repl][session]") {
  CHECK(lua_literal(recipe_value::number(4)) == "4");
  CHECK(lua_literal(recipe_value::number(2.5e-5)) == "2.5e-05");
  CHECK(lua_literal(recipe_value::string("a \"b\"\n")) == "\"a \\\"b\\\"\\n\"");
  recipe_value list = recipe_value::list();
  list.push(recipe_value::number(0.9));
  list.push(recipe_value::number(0.95));
  CHECK(lua_literal(list) == "{0.9, 0.95}");
  CHECK(lua_literal(recipe_value::boolean(true)) == "true");
}

TEST_CASE("reading a field that does not exist names the nearest one", "[repl][session]") {
  recipe_dir dir;
  recipe_session s(dir.write("x.lua", base_recipe));
  const recipe_value& tree = s.current().tree;
  CHECK(recipe_field_problem(tree, "parallel", "microbatch") == "");
  CHECK(recipe_field_problem(tree, "cluster", "partition") == "");  // a field, though unset
  CHECK(recipe_field_problem(tree, "data.sources", "ja") == "");
  CHECK(recipe_field_problem(tree, "parallel", "microbach") == "r.parallel.microbach: no such field; did you mean 'microbatch'?");
  CHECK(recipe_field_problem(tree, "data.sources", "jaa") == "r.data.sources.jaa: no such field; did you mean 'ja'?");
  CHECK(recipe_field_problem(tree, "data.sources", "zz") == "r.data.sources.zz: no such field (fields: ja or en)");
}
