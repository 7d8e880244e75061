// The schema: its generated docs are current, and its expectations read as the error phrasing wants.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "core/recipe/schema.hpp"

using namespace wb;

TEST_CASE("docs/recipes.md holds exactly what wb schema generates", "[schema][docs]") {
  std::ifstream in(std::string(WB_SOURCE_DIR) + "/docs/recipes.md");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  const std::string begin = "<!-- generated: wb schema -->\n", end = "<!-- end generated -->";
  auto b = doc.find(begin), e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  INFO("docs/recipes.md is stale: run scripts/gen-docs");
  CHECK(doc.substr(b + begin.size(), e - b - begin.size()) == schema_markdown());
}

TEST_CASE("every field of the issue's stable key list is in the schema", "[schema]") {
  for (const char* path : {"model.family", "model.layers", "model.dim", "model.heads", "model.kv_heads", "model.ffn",
                           "model.vocab", "model.seq_len", "model.tied_embeddings", "model.norm_eps",
                           "model.rope_theta", "model.init", "model.precision", "data.sources", "data.tokenizer",
                           "data.tokens", "data.valid_fraction", "parallel.dp", "parallel.tp", "parallel.pp",
                           "parallel.virtual_stages", "parallel.zero", "parallel.microbatch", "parallel.global_batch",
                           "parallel.recompute", "parallel.offload", "cluster.instance", "cluster.nodes",
                           "cluster.price_per_hour", "cluster.launcher", "cluster.fabric", "optim.lr", "optim.lr_min",
                           "optim.betas", "optim.eps", "optim.weight_decay", "optim.warmup_steps", "optim.schedule",
                           "optim.clip", "train.steps", "train.tokens", "train.log_every", "train.eval_every",
                           "train.seed", "train.nan_policy", "checkpoint.dir", "checkpoint.every", "checkpoint.keep",
                           "checkpoint.async", "checkpoint.resume", "name", "description", "extends"}) {
    INFO(path);
    CHECK(schema_find(path) != nullptr);
  }
}

TEST_CASE("map entries match the wildcard fields", "[schema]") {
  REQUIRE(schema_find("data.sources.ja.weight") != nullptr);
  CHECK(schema_find("data.sources.ja.weight")->path == "data.sources.*.weight");
  CHECK(schema_find("data.sources.ja.wieght") == nullptr);
}

TEST_CASE("expectations read as the error phrasing wants", "[schema]") {
  CHECK(schema_find("parallel.tp")->expectation() == "an integer >= 1");
  CHECK(schema_find("parallel.zero")->expectation() == "an integer in [0, 3]");
  CHECK(schema_find("parallel.recompute")->expectation() == "one of \"none\", \"selective\" or \"full\"");
  CHECK(schema_find("optim.betas")->expectation() == "a list of 2 numbers, each in [0, 1)");
  CHECK(schema_find("data.sources.x.weight")->expectation() == "a number > 0");
}
