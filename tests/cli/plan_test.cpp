// `wb plan` through the real binary: the report, JSON, search, and errors naming the recipe line.
#include <catch2/catch.hpp>

#include <filesystem>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/recipe_fixture.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/synthetic_profile.hpp"

using namespace wb;
using namespace wb::test;

namespace {
std::string wb_plan(const std::string& args) { return wb_binary() + " plan " + args; }
std::string recipe_path(const char* name) { return std::string(WB_SOURCE_DIR) + "/recipes/" + name + ".lua"; }
}  // namespace

TEST_CASE("wb plan prints memory per device, step time, MFU, days and dollars", "[cli][plan]") {
  auto r = run_command(wb_plan(recipe_path("llama3_8b_cpt")));
  INFO(r.out);
  CHECK(r.status == 0);
  for (const char* s : {"32 x p5.48xlarge (256 devices)", "optimizer_state", "activations", "fits", "MFU", "device-hours", "$"})
    CHECK(r.out.find(s) != std::string::npos);
}

TEST_CASE("wb plan --json parses and an override changes it", "[cli][plan]") {
  auto a = run_command(wb_plan(recipe_path("llama3_8b_cpt") + " --json"));
  auto b = run_command(wb_plan(recipe_path("llama3_8b_cpt") + " parallel.microbatch=2 --json"));
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  CHECK(jb["layout"]["microbatch"] == 2);
  CHECK(jb["memory"]["activations"].get<double>() > ja["memory"]["activations"].get<double>());
}

TEST_CASE("wb plan says when a layout does not fit, with exit status 1", "[cli][plan]") {
  auto r = run_command(wb_plan(recipe_path("llama3_70b_cpt") + " cluster.nodes=8 parallel.pp=1 parallel.virtual_stages=1"));
  CHECK(r.status == 1);
  CHECK(r.out.find("DOES NOT FIT (over by") != std::string::npos);
}

TEST_CASE("wb plan names the recipe line of a cluster without a price", "[cli][plan]") {
  recipe_dir dir;
  dir.write("x.lua", edited("    instance = \"local\",\n", "    instance = \"p5e.48xlarge\",\n    nodes = 1,\n",
                            edited("    microbatch = 2,\n", "    microbatch = 2, tp = 4, dp = 2,\n")));
  auto r = run_command(wb_plan((dir.path() / "x.lua").string()));
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK(r.out.find("x.lua:25: Invalid 'cluster.instance' \"p5e.48xlarge\": 'p5e.48xlarge' has no on-demand price in the "
                   "catalog; set cluster.price_per_hour") != std::string::npos);
}

TEST_CASE("wb plan reports layout mistakes as wb check does", "[cli][plan]") {
  recipe_dir dir;
  dir.write("x.lua", edited("    microbatch = 2,\n", "    microbatch = 16,\n"));
  auto r = run_command(wb_plan((dir.path() / "x.lua").string()));
  CHECK(r.status == 1);
  CHECK(r.out.find("x.lua:21: Invalid 'parallel.microbatch' 16: expected at most global_batch (8)") != std::string::npos);
  dir.write("y.lua", edited("\"local\"", "\"p9.huge\""));
  auto u = run_command(wb_plan((dir.path() / "y.lua").string()));
  CHECK(u.status == 1);
  CHECK(u.out.find("y.lua:25: Invalid 'cluster.instance'") != std::string::npos);
}

TEST_CASE("wb plan --search prints ranked layouts and rejections", "[cli][plan]") {
  auto r = run_command(wb_plan(recipe_path("llama3_70b_cpt") + " --search --nodes 32,64 --by cost --top 3"));
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.out.find("layouts considered") != std::string::npos);
  CHECK(r.out.find("rejected:") != std::string::npos);
  CHECK(r.out.find("over device memory") != std::string::npos);
}

TEST_CASE("wb plan of a local data-parallel layout charges the exchange from the profile's collective table", "[cli][plan][profile]") {
  // A profile with hand-set figures (one thread, as each of two ranks gets on a two-core machine).
  device_profile p = synthetic_profile();
  add_synthetic_collectives(p);
  auto path = (std::filesystem::temp_directory_path() / ("wb-plan-dp-" + std::to_string(::getpid()) + ".json")).string();
  device_profile_save(p, path);
  std::string env = "WB_PROFILE=" + path + " ";
  auto one = run_command(env + wb_plan(recipe_path("tiny_llama_cpt") + " --threads 1 --json"));
  auto two = run_command(env + wb_plan(recipe_path("tiny_llama_cpt") + " parallel.dp=2 parallel.zero=1 --threads 1 --json"));
  INFO(two.out);
  REQUIRE(one.status == 0);
  REQUIRE(two.status == 0);
  auto j1 = nlohmann::json::parse(one.out), j2 = nlohmann::json::parse(two.out);
  CHECK(j1["time"]["dp_comm_s"].get<double>() == 0);
  // ZeRO-1: reduce-scatter the fp32 gradients, all-gather the parameters (beyond the table's 1 MiB,
  // 2 GB/s each), and the loss's small all-reduce (the table's smallest, 10 us).
  double bytes = j2["params"].get<double>() * 4;
  CHECK(j2["time"]["dp_comm_s"].get<double>() == Approx(2 * bytes / 2e9 + 10e-6));
  std::filesystem::remove(path);
}
