// Test support: a corpus with a repeated pattern (learnable in a few steps), its tokenizer and
// shard sets, and a recipe small enough to train in about a second (small.lua); plus reading
// metrics.jsonl.
#pragma once
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/recipe_fixture.hpp"
#include "tests/support/run_command.hpp"

namespace wb::test {

inline std::string wb_cmd(const std::string& args) { return wb_binary() + " " + args; }

// A corpus with a repeated pattern (learnable in a few steps), its tokenizer and shard sets, and a
// recipe small enough to train in seconds.
struct small_run {
  recipe_dir dir;
  small_run() {
    for (int i = 0; i < 40; ++i) {
      std::string text;
      for (int k = 0; k < 30; ++k) text += "the cat sat on the mat. 猫がマットの上に座った。 ";
      dir.write("ja/doc" + std::to_string(i) + ".txt", text);
      dir.write("en/doc" + std::to_string(i) + ".txt", "one two three four five six seven eight nine ten. " + text);
    }
    REQUIRE(run_command(wb_cmd("data tokenizer-train --vocab 320 --in ja/doc0.txt en/doc0.txt --out tok.json")).status == 0);
    REQUIRE(run_command(wb_cmd("data prepare --tokenizer tok.json --in ja --out sets/ja")).status == 0);
    REQUIRE(run_command(wb_cmd("data prepare --tokenizer tok.json --in en --out sets/en")).status == 0);
    dir.write("small.lua",
              "return recipe {\n"
              "  name = \"small\",\n"
              "  model = model { family = \"llama\", layers = 2, dim = 64, heads = 4, kv_heads = 2, ffn = 128,\n"
              "                  vocab = 320, seq_len = 32, tied_embeddings = true },\n"
              "  data = data { tokenizer = \"tok.json\", valid_fraction = 0.1,\n"
              "    sources = { ja = source { path = \"sets/ja\", weight = 0.7 }, en = source { path = \"sets/en\", weight = 0.3 } } },\n"
              "  parallel = parallel { microbatch = 4, global_batch = 8 },\n"
              "  optim = optim { lr = 1e-2, warmup_steps = 2 },\n"
              "  train = train { steps = 12, log_every = 4, eval_every = 6, eval_batches = 2 },\n"
              "}\n");
  }
};

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace wb::test
