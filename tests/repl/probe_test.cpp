// probe: real training steps on this machine against the planner's prediction for them; a
// recipe for a cluster runs rehearsal-sized and says so.
#include <catch2/catch.hpp>

#include <filesystem>

#include "repl/probe.hpp"
#include "tests/support/small_run.hpp"
#include "tests/support/test_profile.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("probe trains the recipe's steps and measures what the planner predicts", "[repl][probe]") {
  use_test_profile();
  small_run s;
  auto loaded = recipe_load("small.lua", {});
  REQUIRE(loaded.ok());
  session_planner planner;
  probe_options o;
  o.steps = 2;
  probe_result p = probe_run(*loaded.config, planner, o);
  CHECK(p.notes.empty());
  CHECK(p.steps_done == 2);
  CHECK_FALSE(p.stopped);
  CHECK(p.step_times.size() == 2);
  CHECK(p.measured_step_s > 0);
  // The model state is counted exactly by both.
  CHECK(p.measured_peak[size_t(mem_category::parameters)] == p.predicted.memory.parameters);
  CHECK(p.measured_peak[size_t(mem_category::optimizer_state)] == p.predicted.memory.optimizer_state);
  CHECK(p.measured_total_peak > p.predicted.memory.parameters * 4);
  CHECK_THAT(probe_table(p), Catch::Contains("2 steps of small (2 layers x 64 dim, microbatch 4, global batch 8)") &&
                                 Catch::Contains("step time"));
  CHECK_FALSE(std::filesystem::exists("checkpoints"));  // the run directory was temporary
}

TEST_CASE("probe of a cluster recipe runs it rehearsal-sized and says why", "[repl][probe][rehearse]") {
  use_test_profile();
  small_run s;
  auto loaded = recipe_load("small.lua", {"cluster.instance=p5.48xlarge", "parallel.microbatch=1"});
  INFO(format_diagnostics(loaded.errors));
  REQUIRE(loaded.ok());
  session_planner planner;
  probe_options o;
  o.steps = 1;
  probe_result p = probe_run(*loaded.config, planner, o);
  REQUIRE(!p.notes.empty());
  CHECK(p.notes[0] == "rehearsal-sized: the recipe is for 1 x p5.48xlarge");
  CHECK(p.probed.model.dim == 256);
  CHECK(p.probed.cluster.instance == "local");
  CHECK(p.predicted.layout.instance == "local");
  CHECK(p.steps_done == 1);
}

TEST_CASE("probe refuses a step count below one", "[repl][probe]") {
  small_run s;
  auto loaded = recipe_load("small.lua", {});
  session_planner planner;
  probe_options o;
  o.steps = 0;
  CHECK_THROWS_WITH(probe_run(*loaded.config, planner, o), "probe: expected at least 1 step, got 0");
}

TEST_CASE("probe of a recipe whose data is absent says how to make the default mix", "[repl][probe]") {
  small_run s;
  std::filesystem::remove_all("sets/en");
  auto loaded = recipe_load("small.lua", {});
  REQUIRE(loaded.ok());
  session_planner planner;
  probe_options o;
  o.default_data = "nowhere";
  CHECK_THROWS_WITH(probe_run(*loaded.config, planner, o),
                    "probe: its data is not on this machine, so it runs rehearsal-sized on the default data mix, which "
                    "is not in nowhere\n  hint: build it with scripts/make-default-data (or point WB_DEFAULT_DATA at one)");
}
