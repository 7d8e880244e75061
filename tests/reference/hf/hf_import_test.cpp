// Hugging Face Llama import and export: a model imported from HF safetensors (one file, shards, or
// bf16) gives the loss the HF Llama modelling equations give (tests/reference/hf/gen_hf_llama.py,
// PyTorch float64), a round trip is bit-exact, and what wb cannot read is refused with a reason.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backends/cpu/cpu_backend.hpp"
#include "core/ckpt/hf_llama.hpp"
#include "core/run/generate.hpp"
#include "core/run/model_init.hpp"
#include "tests/support/recipe_fixture.hpp"
#include "tests/support/run_command.hpp"

using namespace wb;
namespace fs = std::filesystem;

namespace {
const std::string fixtures = std::string(WB_SOURCE_DIR) + "/tests/reference/hf/";

nlohmann::json expected() {
  std::ifstream in(fixtures + "expected.json");
  return nlohmann::json::parse(in);
}

double wb_loss(const std::string& dir) {
  model_config cfg = hf_read_config(dir);
  model m(cfg, 1);
  model_initialize(m, "hf:" + dir);
  cpu_backend backend(1);
  auto tokens = expected()["tokens"].get<std::vector<int32_t>>();
  return mean_next_token_loss(m, backend, tokens).mean;
}
}  // namespace

TEST_CASE("a Llama imported from HF safetensors gives the HF equations' loss", "[reference][hf]") {
  double ref = expected()["llama_f32"];
  double got = wb_loss(fixtures + "llama_f32");
  INFO("wb " << got << " reference " << ref << " relative difference " << std::fabs(got - ref) / ref);
  CHECK(std::fabs(got - ref) / ref < 2e-6);  // fp32 engine against a float64 reference
}

TEST_CASE("a sharded HF checkpoint with an index loads the same weights", "[reference][hf]") {
  auto one = hf_load(fixtures + "llama_f32"), sharded = hf_load(fixtures + "llama_sharded");
  REQUIRE(one.tensors.size() == sharded.tensors.size());
  for (auto& [name, values] : one.tensors) CHECK(sharded.tensors.at(name) == values);
}

TEST_CASE("a bf16 HF checkpoint widens exactly and gives the HF equations' loss", "[reference][hf]") {
  double ref = expected()["llama_bf16"];
  double got = wb_loss(fixtures + "llama_bf16");
  INFO("wb " << got << " reference " << ref);
  CHECK(std::fabs(got - ref) / ref < 2e-6);
}

TEST_CASE("HF to wb to HF is bit-exact in f32 and in bf16", "[reference][hf][roundtrip]") {
  wb::test::recipe_dir dir;
  for (auto [name, dtype] : {std::pair{"llama_f32", "f32"}, std::pair{"llama_bf16", "bf16"}}) {
    auto imp = wb::test::run_command(std::string(WB_BINARY) + " ckpt import-hf " + fixtures + name + " --out ck_" + name);
    REQUIRE(imp.status == 0);
    auto exp = wb::test::run_command(std::string(WB_BINARY) + " ckpt export-hf ck_" + name + " --out hf_" + name +
                                     " --dtype " + dtype);
    REQUIRE(exp.status == 0);
    safetensors_file a(fixtures + name + "/model.safetensors"), b(std::string("hf_") + name + "/model.safetensors");
    REQUIRE(a.tensors().size() == b.tensors().size());
    for (auto& t : a.tensors()) {
      auto* u = b.find(t.name);
      REQUIRE(u);
      CHECK(u->dtype == t.dtype);
      CHECK(u->shape == t.shape);
      CHECK(std::memcmp(u->data, t.data, t.bytes) == 0);
    }
    model_config x = hf_read_config(fixtures + name), y = hf_read_config(std::string("hf_") + name);
    CHECK(x.dim == y.dim);
    CHECK(x.ffn == y.ffn);
    CHECK(x.kv_heads == y.kv_heads);
    CHECK(x.rope_theta == y.rope_theta);
    CHECK(x.norm_eps == y.norm_eps);
    CHECK(x.vocab == y.vocab);
  }
}

TEST_CASE("an HF config of another architecture is refused", "[reference][hf][bad]") {
  wb::test::recipe_dir dir;
  dir.write("m/config.json", R"({"architectures": ["MistralForCausalLM"], "model_type": "mistral"})");
  CHECK_THROWS_WITH(hf_read_config("m"), "m/config.json: architecture MistralForCausalLM (model_type \"mistral\") is "
                                         "not supported: wb imports LlamaForCausalLM (model_type \"llama\")");
}

TEST_CASE("an HF tensor whose shape disagrees with config.json is refused naming both", "[reference][hf][bad]") {
  wb::test::recipe_dir dir;
  fs::copy(fixtures + "llama_f32", "m");
  std::ifstream in("m/config.json");
  auto cfg = nlohmann::json::parse(in);
  in.close();
  cfg["intermediate_size"] = 128;
  std::ofstream("m/config.json") << cfg.dump();
  CHECK_THROWS_WITH(hf_load("m"), "m/model.safetensors: tensor model.layers.0.mlp.gate_proj.weight has shape (160, 64), "
                                  "config.json's model needs (128, 64)");
}

TEST_CASE("a recipe whose model differs from its HF init names the field", "[reference][hf][bad]") {
  model_config cfg = hf_read_config(fixtures + "llama_f32");
  cfg.dim = 128;
  cfg.heads = 8;
  model m(cfg, 1);
  CHECK_THROWS_WITH(model_initialize(m, "hf:" + fixtures + "llama_f32"),
                    fixtures + "llama_f32/config.json has hidden_size 64, the recipe's model.dim is 128");
}
