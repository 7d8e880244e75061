// sweep: every combination of the given values, in schema order, planned on top of the session's
// recipe; a combination the recipe or the planner rejects is a row saying why.
#include <catch2/catch.hpp>

#include "repl/sweep.hpp"
#include "tests/support/recipe_fixture.hpp"
#include "tests/support/test_profile.hpp"

using namespace wb;
using namespace wb::test;

namespace {

std::vector<recipe_value> numbers(std::initializer_list<double> xs) {
  std::vector<recipe_value> out;
  for (double x : xs) out.push_back(recipe_value::number(x));
  return out;
}

}  // namespace

TEST_CASE("sweep points are the product of the axes, the first field in schema order varying slowest",
          "[repl][sweep]") {
  auto points = sweep_points({{"parallel.recompute", {recipe_value::string("none"), recipe_value::string("full")}},
                              {"parallel.microbatch", numbers({1, 2, 4})}});
  REQUIRE(points.size() == 6);
  CHECK(points[0][0].path == "parallel.microbatch");  // microbatch precedes recompute in the schema
  std::vector<std::string> seen;
  for (auto& p : points) seen.push_back(p[0].value.describe() + "/" + p[1].value.describe());
  CHECK(seen == std::vector<std::string>{"1/\"none\"", "1/\"full\"", "2/\"none\"", "2/\"full\"", "4/\"none\"", "4/\"full\""});
}

TEST_CASE("a sweep over something that is not a field says so", "[repl][sweep]") {
  CHECK_THROWS_WITH(sweep_points({{"parallel.microbach", numbers({1})}}),
                    "sweep: 'parallel.microbach' is not a recipe field; did you mean 'parallel.microbatch'?");
  CHECK_THROWS_WITH(sweep_points({{"parallel", numbers({1})}}), Catch::StartsWith("sweep: 'parallel' is not a recipe field"));
  CHECK_THROWS_WITH(sweep_points({{"parallel.tp", {}}}), "sweep: 'parallel.tp' has no values to try");
}

TEST_CASE("a sweep of a cluster recipe plans each row and names the rows the recipe rejects", "[repl][sweep]") {
  recipe_session s(std::string(WB_SOURCE_DIR) + "/recipes/llama3_8b_cpt.lua");
  session_planner planner;
  auto rows = sweep_run(s, planner, {{"parallel.microbatch", numbers({1, 2, 3})}});
  REQUIRE(rows.size() == 3);
  REQUIRE(rows[0].plan);
  REQUIRE(rows[1].plan);
  CHECK(rows[0].plan->layout.microbatch == 1);
  CHECK(rows[1].plan->layout.microbatch == 2);
  CHECK(rows[1].plan->memory.activations > rows[0].plan->memory.activations);
  CHECK_FALSE(rows[2].plan);
  CHECK_THAT(rows[2].error, Catch::Contains("Invalid 'parallel.global_batch' 1024: expected a multiple of microbatch*dp"));
  CHECK(s.config().parallel.microbatch == 1);  // the session itself is untouched
  std::string table = sweep_table(rows);
  CHECK_THAT(table, Catch::StartsWith("parallel.microbatch  fits"));
  CHECK(std::count(table.begin(), table.end(), '\n') == 4);
}

TEST_CASE("a sweep stops between rows when interrupted", "[repl][sweep]") {
  recipe_session s(std::string(WB_SOURCE_DIR) + "/recipes/llama3_8b_cpt.lua");
  session_planner planner;
  std::atomic<bool> stop{true};
  CHECK(sweep_run(s, planner, {{"parallel.microbatch", numbers({1, 2})}}, &stop).empty());
}

TEST_CASE("a local tensor-parallel row shows its memory per rank and its step time", "[repl][sweep]") {
  use_test_profile();
  recipe_session s(std::string(WB_SOURCE_DIR) + "/recipes/tiny_llama_cpt.lua");
  session_planner planner;
  // tp = 2 is a valid recipe (8 heads): memory per rank and the step with its all-reduces (docs/plan.md).
  auto rows = sweep_run(s, planner, {{"parallel.tp", numbers({1, 2})}});
  REQUIRE(rows.size() == 2);
  REQUIRE(rows[1].plan);
  CHECK(rows[1].plan->memory_by_rank.size() == 2);
  CHECK(rows[1].plan->memory.total_bytes < rows[0].plan->memory.total_bytes);  // each rank holds half the weights
  CHECK(rows[1].plan->time.step_s > 0);
  const plan_time& t = rows[1].plan->time;
  CHECK(t.step_s == Approx(t.compute_s + t.tp_comm_s + t.pp_comm_s + t.dp_comm_s + t.bubble_s + t.optimizer_s));
  CHECK(t.bubble_s == 0);  // no pipeline
  std::string table = sweep_table(rows);
  CHECK_THAT(table, !Catch::Contains("not predicted"));
}
