// Tab completion: the word before the cursor, completed from the schema, the recipe's map entries
// and the REPL's names.
#include <catch2/catch.hpp>

#include "repl/completion.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("r. paths complete from the schema and sections end with a dot", "[repl][completion]") {
  recipe_dir dir;
  auto tree = recipe_load(dir.write("x.lua", base_recipe), {}).tree;
  std::vector<std::string> names{"plan", "probe", "print", "sweep"};
  auto c = complete_word("x = r.para", &tree, names);
  CHECK(c.start == 4);
  CHECK(c.candidates == std::vector<std::string>{"r.parallel."});
  c = complete_word("r.parallel.micro", &tree, names);
  CHECK(c.candidates == std::vector<std::string>{"r.parallel.microbatch"});
  c = complete_word("r.parallel.s", &tree, names);
  CHECK(c.candidates == std::vector<std::string>{"r.parallel.sequence_parallel"});
  c = complete_word("r.m", &tree, names);
  CHECK(c.candidates == std::vector<std::string>{"r.model."});
  c = complete_word("r.e", &tree, names);  // extends is the file's link to its base, not a field
  CHECK(c.candidates.empty());
}

TEST_CASE("map entries complete from the recipe, their fields from the schema", "[repl][completion]") {
  recipe_dir dir;
  auto tree = recipe_load(dir.write("x.lua", base_recipe), {}).tree;
  auto c = complete_word("r.data.sources.", &tree, {});
  CHECK(c.candidates == std::vector<std::string>{"r.data.sources.en.", "r.data.sources.ja."});
  CHECK(c.common == "r.data.sources.");
  c = complete_word("r.data.sources.ja.w", &tree, {});
  CHECK(c.candidates == std::vector<std::string>{"r.data.sources.ja.weight"});
}

TEST_CASE("inside a string, whole field paths complete (for sweep keys)", "[repl][completion]") {
  recipe_dir dir;
  auto tree = recipe_load(dir.write("x.lua", base_recipe), {}).tree;
  auto c = complete_word("sweep{[\"parallel.mi", &tree, {});
  CHECK(c.candidates == std::vector<std::string>{"parallel.microbatch"});
  c = complete_word("sweep{['data.sources.e", &tree, {});
  CHECK(c.candidates == std::vector<std::string>{"data.sources.en.path", "data.sources.en.weight"});
  CHECK(c.common == "data.sources.en.");
}

TEST_CASE("a bare word completes to the REPL's functions and globals", "[repl][completion]") {
  std::vector<std::string> names{"plan", "probe", "print", "sweep"};
  auto c = complete_word("pr", nullptr, names);
  CHECK(c.candidates == std::vector<std::string>{"print", "probe"});
  CHECK(c.common == "pr");
  CHECK(complete_word("sw", nullptr, names).candidates == std::vector<std::string>{"sweep"});
  CHECK(complete_word("r.par", nullptr, names).candidates.empty());  // no recipe open
}
