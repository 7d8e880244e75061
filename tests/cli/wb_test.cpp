// The `wb` command line as a user meets it: help, version, exit statuses, check and show.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/recipe_fixture.hpp"
#include "tests/support/run_command.hpp"

using namespace wb::test;

namespace {
std::string wb_cmd(const std::string& args) { return wb_binary() + " " + args; }
std::string recipe(const std::string& name) { return std::string(WB_SOURCE_DIR) + "/recipes/" + name + ".lua"; }
}  // namespace

TEST_CASE("wb --version prints the version", "[cli]") {
  auto r = run_command(wb_cmd("--version"));
  CHECK(r.status == 0);
  CHECK(r.out == "wb " WB_VERSION "\n");
}

TEST_CASE("wb --help lists the commands", "[cli]") {
  auto r = run_command(wb_cmd("--help"));
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("check") && Catch::Contains("show") && Catch::Contains("schema"));
}

TEST_CASE("wb COMMAND --help describes the command", "[cli]") {
  auto r = run_command(wb_cmd("show --help"));
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("Print the fully resolved recipe") && Catch::Contains("--json"));
}

TEST_CASE("an unknown command exits 2 with a suggestion", "[cli]") {
  auto r = run_command(wb_cmd("chek recipe.lua"));
  CHECK(r.status == 2);
  CHECK(r.out == "wb: unknown command 'chek'; did you mean 'check'?\nRun 'wb --help' for the commands.\n");
}

TEST_CASE("an unknown flag exits 2", "[cli]") {
  auto r = run_command(wb_cmd("check --frobnicate " + recipe("tiny_llama_cpt")));
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Catch::Contains("--frobnicate") && Catch::Contains("Run 'wb check --help' for usage."));
}

TEST_CASE("no command at all exits 2", "[cli]") {
  CHECK(run_command(wb_cmd("")).status == 2);
}

TEST_CASE("wb check prints ok for each shipped recipe", "[cli][shipped]") {
  for (const char* name : {"tiny_llama_cpt", "llama3_8b_cpt", "llama3_70b_cpt", "gpt3_175b_pretrain"}) {
    INFO(name);
    auto r = run_command(wb_cmd("check " + recipe(name)));
    CHECK(r.status == 0);
    CHECK(r.out == "ok\n");
  }
}

TEST_CASE("wb check prints every error and exits 1", "[cli]") {
  recipe_dir dir;
  dir.write("x.lua", edited("layers = 4", "layers = 0"));
  auto r = run_command(wb_cmd("check x.lua parallel.tp=3 cluster.nodes=zero"));
  CHECK(r.status == 1);
  CHECK(r.out ==
        "x.lua:5: Invalid 'model.layers' 0: expected an integer >= 1, got 0\n"
        "command line (cluster.nodes=zero): Invalid 'cluster.nodes' \"zero\": expected an integer >= 1, got a string "
        "\"zero\"\n"
        "2 errors\n");
}

TEST_CASE("wb survives an attack recipe with the default limits", "[cli][sandbox]") {
  recipe_dir dir;
  dir.write("x.lua", "while true do pcall(function() while true do end end) end\n");
  auto r = run_command(wb_cmd("check x.lua"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::StartsWith("x.lua: time limit exceeded: the recipe ran longer than 2 s"));
}

TEST_CASE("wb show --json gives the Llama 3 8B sizes and a hash", "[cli][show]") {
  auto r = run_command(wb_cmd("show --json " + recipe("llama3_8b_cpt")));
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  auto& m = j["recipe"]["model"];
  CHECK(m["layers"] == 32);
  CHECK(m["dim"] == 4096);
  CHECK(m["heads"] == 32);
  CHECK(m["kv_heads"] == 8);
  CHECK(m["ffn"] == 14336);
  CHECK(m["vocab"] == 128256);
  CHECK(m["rope_theta"] == 500000);
  CHECK(j["recipe_hash"].get<std::string>().size() == 64);
  CHECK(j["derived"]["devices"] == 256);
}

TEST_CASE("wb show prints provenance and applies overrides", "[cli][show]") {
  auto r = run_command(wb_cmd("show " + recipe("tiny_llama_cpt") + " parallel.microbatch=4"));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("parallel.microbatch = 4") &&
                        Catch::Contains("-- command line (parallel.microbatch=4)") &&
                        Catch::Contains("model.ffn = 688") && Catch::Contains("-- wb/models.lua:") &&
                        Catch::Contains("parallel.recompute = \"none\"") && Catch::StartsWith("-- recipe_hash: "));
}

TEST_CASE("wb show's hash changes with an override and not without one", "[cli][show]") {
  auto hash_of = [](const std::string& args) {
    auto j = nlohmann::json::parse(run_command(wb_cmd("show --json " + recipe("tiny_llama_cpt") + args)).out);
    return j["recipe_hash"].get<std::string>();
  };
  CHECK(hash_of("") == hash_of(" parallel.microbatch=8"));
  CHECK(hash_of("") != hash_of(" parallel.microbatch=4"));
}
