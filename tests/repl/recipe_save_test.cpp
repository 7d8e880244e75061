// save: the tuned recipe as a file that extends the original with only the changed fields, which
// the normal loader resolves to the session's recipe (same recipe_hash).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "repl/recipe_save.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb;
using namespace wb::test;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a saved recipe sets only the changed fields and resolves to the tuned recipe", "[repl][save]") {
  recipe_dir dir;
  recipe_session s(dir.write("x.lua", base_recipe));
  REQUIRE(s.set({{"parallel.microbatch", recipe_value::number(4)}, {"parallel.recompute", recipe_value::string("full")}}).empty());
  REQUIRE(s.set({{"optim.betas", [] {
                    recipe_value l = recipe_value::list();
                    l.push(recipe_value::number(0.9));
                    l.push(recipe_value::number(0.99));
                    return l;
                  }()}}).empty());
  REQUIRE(s.set({{"data.sources.en.weight", recipe_value::number(0.5)}}).empty());
  REQUIRE(s.set({{"train.steps", recipe_value::number(10)}}).empty());  // unchanged: not written
  save_result r = recipe_save(s, "tuned.lua");
  CHECK(r.renamed);
  CHECK(r.extends == "x");
  CHECK(read("tuned.lua") ==
        "-- Tuned in `wb repl` from x.lua: only the fields changed there; the rest comes from\n"
        "-- the recipe it extends.\n"
        "return recipe {\n"
        "  extends = \"x\",\n"
        "  name = \"tuned\",\n"
        "  data = data {\n"
        "    sources = {\n"
        "      en = source { weight = 0.5 },\n"
        "    },\n"
        "  },\n"
        "  parallel = parallel { microbatch = 4, recompute = \"full\" },\n"
        "  optim = optim { betas = {0.9, 0.99} },\n"
        "}\n");
  auto loaded = recipe_load("tuned.lua", {});
  INFO(format_diagnostics(loaded.errors));
  REQUIRE(loaded.ok());
  CHECK(loaded.hash == s.current().hash);
  CHECK(loaded.files == std::vector<std::string>{"x.lua", "tuned.lua"});
}

TEST_CASE("a recipe saved elsewhere extends the original by a relative path, or by name when found", "[repl][save]") {
  recipe_dir dir;
  dir.write("team/base.lua", base_recipe);
  SECTION("beside the original: its name") {
    CHECK(extends_name("team/base.lua", "team/mine.lua") == "base");
  }
  SECTION("in another folder: a path from there") {
    CHECK(extends_name("team/base.lua", "mine/tuned.lua") == "../team/base.lua");
    recipe_session s("team/base.lua");
    REQUIRE(s.set({{"parallel.zero", recipe_value::number(2)}}).empty());
    recipe_save(s, "mine/tuned.lua");
    auto loaded = recipe_load("mine/tuned.lua", {});
    REQUIRE(loaded.ok());
    CHECK(loaded.hash == s.current().hash);
  }
  SECTION("a shipped recipe: its name, found through recipes/") {
    CHECK(extends_name(std::string(WB_SOURCE_DIR) + "/recipes/llama3_8b_cpt.lua", "mine/tuned.lua") == "llama3_8b_cpt");
  }
}

TEST_CASE("a name set in the session is kept, and a save without changes still loads", "[repl][save]") {
  recipe_dir dir;
  recipe_session s(dir.write("x.lua", base_recipe));
  REQUIRE(s.set({{"name", recipe_value::string("mine")}}).empty());
  save_result r = recipe_save(s, "other.lua");
  CHECK_FALSE(r.renamed);
  CHECK(s.config().name == "mine");
  CHECK(recipe_load("other.lua", {}).hash == s.current().hash);
}

TEST_CASE("a save that cannot be written says where and leaves the session's name", "[repl][save]") {
  recipe_dir dir;
  recipe_session s(dir.write("x.lua", base_recipe));
  dir.write("blocked", "a file, not a folder");
  CHECK_THROWS_WITH(recipe_save(s, "blocked/tuned.lua"), Catch::Contains("blocked/tuned.lua"));
  CHECK(s.config().name == "t");
}
