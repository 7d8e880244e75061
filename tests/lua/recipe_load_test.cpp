// Loading recipes end to end: extends (folders and WB_RECIPE_PATH), presets, overrides, defaults,
// provenance and the recipe hash.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "core/recipe/canonical.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb::test;

TEST_CASE("every shipped recipe is valid", "[recipe][shipped]") {
  for (const char* name : {"tiny_llama_cpt", "llama3_8b_cpt", "llama3_70b_cpt", "gpt3_175b_pretrain"}) {
    INFO(name);
    auto r = wb::recipe_load(std::string(WB_SOURCE_DIR) + "/recipes/" + name + ".lua", {});
    CHECK(wb::format_diagnostics(r.errors) == "");
  }
}

TEST_CASE("the Llama 3 8B recipe resolves to Llama 3 8B's published shape", "[recipe][shipped]") {
  auto r = wb::recipe_load(std::string(WB_SOURCE_DIR) + "/recipes/llama3_8b_cpt.lua", {});
  REQUIRE(r.ok());
  auto& m = r.config->model;
  CHECK(m.family == "llama");
  CHECK(m.layers == 32);
  CHECK(m.dim == 4096);
  CHECK(m.heads == 32);
  CHECK(m.kv_heads == 8);
  CHECK(m.ffn == 14336);
  CHECK(m.vocab == 128256);
  CHECK(m.rope_theta == 500000);
  CHECK(r.config->cluster.instance == "p5.48xlarge");
  // about 60% Japanese
  double ja = 0;
  for (auto& s : r.config->data.sources)
    if (s.name.rfind("ja", 0) == 0) ja += s.weight;
  CHECK(ja == Approx(0.6));
}

TEST_CASE("the 70B recipe extends the 8B one and changes only what it says", "[recipe][extends]") {
  auto r = wb::recipe_load(std::string(WB_SOURCE_DIR) + "/recipes/llama3_70b_cpt.lua", {});
  REQUIRE(r.ok());
  CHECK(r.files.size() == 2);
  CHECK(r.config->model.layers == 80);
  CHECK(r.config->data.sources.size() == 5);       // inherited mix
  CHECK(r.config->data.tokens == Approx(315e9));   // own budget
  CHECK(r.config->parallel.dp == 8);               // 256 devices / (tp 8 * pp 4)
  CHECK(r.config->checkpoint.every == 500);        // inherited
}

TEST_CASE("extends finds a base in WB_RECIPE_PATH", "[recipe][extends]") {
  recipe_dir dir;
  dir.write("team/team_base.lua", base_recipe);
  std::string file = dir.write("mine/x.lua", "return recipe { extends = \"team_base\", name = \"mine\",\n"
                                             "  parallel = parallel { microbatch = 4 } }\n");
  setenv("WB_RECIPE_PATH", (dir.path() / "nowhere").string().append(":").append((dir.path() / "team").string()).c_str(), 1);
  auto r = wb::recipe_load(file, {});
  unsetenv("WB_RECIPE_PATH");
  REQUIRE(wb::format_diagnostics(r.errors) == "");
  CHECK(r.config->name == "mine");
  CHECK(r.config->parallel.microbatch == 4);
  CHECK(r.config->model.layers == 4);
  CHECK(r.files == std::vector<std::string>{"team/team_base.lua", "mine/x.lua"});
}

TEST_CASE("extends finds a shipped recipe from any folder", "[recipe][extends]") {
  recipe_dir dir;
  auto r = wb::recipe_load(dir.write("x.lua", "return recipe { extends = \"llama3_8b_cpt\", name = \"mine\",\n"
                                              "  cluster = cluster { nodes = 16 } }\n"), {});
  REQUIRE(wb::format_diagnostics(r.errors) == "");
  CHECK(r.config->parallel.dp == 64);  // 16 nodes x 8 / tp 2
}

TEST_CASE("a model preset called with changes keeps the rest of the preset", "[recipe][presets]") {
  recipe_dir dir;
  std::string text = edited(
      "  model = model {\n    family = \"llama\",\n    layers = 4,\n    dim = 256,\n    heads = 8,\n    kv_heads = 4,\n"
      "    ffn = 688,\n    vocab = 4096,\n    seq_len = 256,\n  },\n",
      "  model = require(\"wb.models\").llama3_8b { seq_len = 4096 },\n");
  auto r = wb::recipe_load(dir.write("x.lua", text), {});
  REQUIRE(wb::format_diagnostics(r.errors) == "");
  CHECK(r.config->model.seq_len == 4096);
  CHECK(r.config->model.ffn == 14336);
  // provenance: the change is charged to the recipe, the rest to the preset
  CHECK(r.tree.at_path("model.seq_len")->loc.str() == "x.lua:3");
  CHECK(r.tree.at_path("model.ffn")->loc.str() == "wb/models.lua:8");
}

TEST_CASE("overrides change values and are charged to the command line", "[recipe][override]") {
  recipe_dir dir;
  auto r = wb::recipe_load(dir.write("x.lua", base_recipe),
                           {"parallel.microbatch=4", "optim.betas=[0.9,0.99]", "+data.sources.code.path=code",
                            "+data.sources.code.weight=1", "model.tied_embeddings=true", "data.tokenizer=\"t.json\""});
  REQUIRE(wb::format_diagnostics(r.errors) == "");
  CHECK(r.config->parallel.microbatch == 4);
  CHECK(r.config->optim.beta2 == 0.99);
  CHECK(r.config->data.sources.size() == 3);
  CHECK(r.config->model.tied_embeddings);
  CHECK(r.config->data.tokenizer == "t.json");
  CHECK(r.tree.at_path("parallel.microbatch")->loc.str() == "command line (parallel.microbatch=4)");
}

TEST_CASE("weights are normalised to sum to one", "[recipe][data]") {
  recipe_dir dir;
  auto r = wb::recipe_load(dir.write("x.lua", edited("weight = 0.4", "weight = 1.4")), {});
  REQUIRE(r.ok());
  CHECK(r.config->data.sources[0].name == "en");
  CHECK(r.config->data.sources[0].weight == Approx(0.7));
  CHECK(r.config->data.sources[1].weight == Approx(0.3));
}

TEST_CASE("defaults fill what the recipe leaves out and are marked as defaults", "[recipe][defaults]") {
  recipe_dir dir;
  auto r = wb::recipe_load(dir.write("x.lua", base_recipe), {});
  REQUIRE(r.ok());
  CHECK(r.config->model.kv_heads == 4);
  CHECK(r.config->parallel.recompute == "none");
  CHECK(r.config->optim.beta1 == 0.9);
  CHECK(r.config->model.init_seed == r.config->train.seed);
  CHECK(r.tree.at_path("parallel.recompute")->defaulted);
  CHECK_FALSE(r.tree.at_path("parallel.microbatch")->defaulted);
}

TEST_CASE("train.steps follows from data.tokens when not given", "[recipe][defaults]") {
  recipe_dir dir;
  auto r = wb::recipe_load(dir.write("x.lua", edited("    steps = 10,\n", "")), {"data.tokens=1e6"});
  REQUIRE(r.ok());
  CHECK(r.config->train.steps == 489);  // ceil(1e6 / (8 * 256))
}

TEST_CASE("equal resolved recipes hash equal, and any changed value changes the hash", "[recipe][hash]") {
  recipe_dir dir;
  std::string base = dir.write("a.lua", base_recipe);
  // the same values written differently: a default spelled out, fields reordered, via extends
  std::string spelled = dir.write("b.lua", edited("microbatch = 2,", "global_batch = 8, tp = 1, microbatch = 2,",
                                                  edited("    global_batch = 8,\n", "")));
  std::string extended = dir.write("c.lua", "return recipe { extends = \"a\" }\n");
  auto h = wb::recipe_load(base, {}).hash;
  REQUIRE(h.size() == 64);
  CHECK(wb::recipe_load(spelled, {}).hash == h);
  CHECK(wb::recipe_load(extended, {}).hash == h);
  CHECK(wb::recipe_load(base, {"parallel.microbatch=2"}).hash == h);
  CHECK(wb::recipe_load(base, {"parallel.microbatch=4"}).hash != h);
  CHECK(wb::recipe_load(base, {"optim.lr=0.0010000001"}).hash != h);
  CHECK(wb::recipe_load(base, {"data.sources.ja.path=jp"}).hash != h);
}
