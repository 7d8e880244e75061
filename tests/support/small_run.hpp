// Test support: a corpus with a repeated pattern (learnable in a few steps), its tokenizer and
// shard sets, and a recipe small enough to train in about a second (small.lua); plus reading
// metrics.jsonl.
#pragma once
#include <filesystem>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <fmt/format.h>
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

// `key` of every metrics.jsonl line that has it, by step (e.g. "loss", "eval_loss").
inline std::map<long long, double> metric_values(const std::string& metrics, const char* key) {
  std::map<long long, double> out;
  for (auto& j : read_jsonl(metrics))
    if (j.contains(key)) out[j["step"]] = j[key];
  return out;
}

// Largest |difference| over the steps both runs logged; requires exactly `steps` in common.
inline double max_difference(const std::map<long long, double>& a, const std::map<long long, double>& b, size_t steps) {
  double worst = 0;
  size_t common = 0;
  for (auto& [step, v] : b)
    if (a.count(step)) worst = std::max(worst, std::abs(a.at(step) - v)), ++common;
  REQUIRE(common == steps);
  return worst;
}

// fp32 tolerance on the small recipe's losses (2 to 6): data-, tensor- and pipeline-parallel runs
// differ from one process by ~2e-7 to 5e-7 (a float's ulp at 4 is 5e-7) at most steps. Adam can
// amplify the rounding of a different gradient summation order where its second moment is still
// tiny: on an AMD EPYC (AVX-512 kernels) the 8-layer ZeRO runs differ by 1.7e-5 at step 5 (and
// 4e-7 again at step 6) with ZeRO-0, -1 and -2 alike and with one thread or two. A real fault (a
// gradient dropped, scaled or summed twice) moves the losses by 1e-3 or more.
constexpr double loss_tolerance = 5e-5;

// `wb run small.lua --out OUT ARGS`, where ARGS resumes from a step-6 checkpoint (and may name
// another layout), says so and continues with `reference`'s losses within loss_tolerance.
inline void check_resumed_run(const std::string& out, const std::string& args, const std::map<long long, double>& reference) {
  auto resumed = run_command(wb_cmd(fmt::format("run small.lua --out {} {}", out, args)));
  INFO(args << "\n" << resumed.out);
  REQUIRE(resumed.status == 0);
  CHECK_THAT(resumed.out, Catch::Contains("resumed from step 6"));
  CHECK(max_difference(reference, metric_values(out + "/metrics.jsonl", "loss"), 6) < loss_tolerance);
}

// Trains small.lua in one process (run dir "one") and over `nproc` ranks in `layout` (run dir
// "split"), both with `overrides`, and checks the 12 losses and 2 evaluations agree within
// loss_tolerance.
inline void check_against_one_process(const std::string& layout, const std::string& overrides, int nproc) {
  REQUIRE(run_command(wb_cmd("run small.lua --out one " + overrides)).status == 0);
  auto split = run_command(wb_cmd(fmt::format("run small.lua --out split --nproc {} {} {}", nproc, layout, overrides)));
  INFO(split.out);
  REQUIRE(split.status == 0);
  CHECK_THAT(split.out, Catch::Contains(fmt::format("[rank 0/{}] step    12/12", nproc)));
  double worst = max_difference(metric_values("one/metrics.jsonl", "loss"), metric_values("split/metrics.jsonl", "loss"), 12);
  double worst_eval =
      max_difference(metric_values("one/metrics.jsonl", "eval_loss"), metric_values("split/metrics.jsonl", "eval_loss"), 2);
  std::printf("%s %s vs one process, 12 steps: max |loss difference| %.3g, eval %.3g\n", layout.c_str(), overrides.c_str(),
              worst, worst_eval);
  CHECK(worst < loss_tolerance);
  CHECK(worst_eval < loss_tolerance);
}

}  // namespace wb::test
