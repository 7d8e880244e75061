// The key-line index: fields are found on their own lines, past comments, strings and nesting.
#include <catch2/catch.hpp>

#include "core/recipe/lua_source_index.hpp"

using namespace wb;

TEST_CASE("keys of a multi-line constructor are found on their lines", "[source_index]") {
  lua_source_index ix("return recipe {\n  name = \"x\",\n  parallel = parallel {\n    tp = 2,\n    pp = 4,\n  },\n}\n");
  CHECK(ix.key_line(1, "name") == 2);
  CHECK(ix.key_line(1, "parallel") == 3);
  CHECK(ix.key_line(3, "tp") == 4);
  CHECK(ix.key_line(3, "pp") == 5);
  CHECK(ix.key_line(3, "name") == 0);
  CHECK(ix.return_table_line() == 1);
  CHECK(ix.lines() == 7);
}

TEST_CASE("comments, strings and nested calls do not confuse the index", "[source_index]") {
  lua_source_index ix("local t = {\n  -- tp = 9,\n  a = f(x, { tp = 1 }),\n  s = \"tp = 3\",\n  --[[ long\n tp = 4 ]]\n"
                      "  [\"odd key\"] = 1,\n  tp = 5,\n}\nreturn t\n");
  CHECK(ix.key_line(1, "tp") == 8);
  CHECK(ix.key_line(1, "odd key") == 7);
  CHECK(ix.key_line(3, "tp") == 3);
  CHECK(ix.return_table_line() == 0);
}

TEST_CASE("equality comparisons are not keys", "[source_index]") {
  lua_source_index ix("return {\n  a = x == 1,\n}\n");
  CHECK(ix.key_line(1, "a") == 2);
  CHECK(ix.key_line(1, "x") == 0);
}

TEST_CASE("a return inside a function is not the chunk's return", "[source_index]") {
  lua_source_index ix("local function f()\n  if x then return { a = 1 } end\nend\nreturn {\n  b = 2,\n}\n");
  CHECK(ix.return_table_line() == 4);
}
