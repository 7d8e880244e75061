// Using what training wrote: wb ckpt inspect/verify, wb eval on the held-out split and on a token
// file, wb sample greedy and seeded.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fstream>

#include "tests/support/small_run.hpp"

using namespace wb::test;

namespace {
struct trained : small_run {
  trained() { REQUIRE(run_command(wb_cmd("run small.lua --out run --threads 1")).status == 0); }
};
}  // namespace

TEST_CASE("wb ckpt inspect shows step, recipe, data position and tensors", "[cli][ckpt]") {
  trained t;
  auto r = run_command(wb_cmd("ckpt inspect run"));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::StartsWith("run/checkpoints/step-00000012: step 12 of 12, format version 1\n") &&
                        Catch::Contains("recipe small (recipe_hash ") &&
                        Catch::Contains("data position: 96 samples consumed") &&
                        Catch::Contains("model.layers.0.attn.wq") && Catch::Contains("optim.v.tok_emb"));
}

TEST_CASE("wb ckpt verify passes a sound checkpoint and fails a damaged one", "[cli][ckpt]") {
  trained t;
  auto ok = run_command(wb_cmd("ckpt verify run"));
  CHECK(ok.status == 0);
  CHECK_THAT(ok.out, Catch::StartsWith("ok: run/checkpoints/step-00000012 (1 files, "));
  {
    std::fstream f("run/checkpoints/step-00000012/tensors-0.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-10, std::ios::end);
    f.put('\x13');
  }
  auto bad = run_command(wb_cmd("ckpt verify run"));
  CHECK(bad.status == 1);
  CHECK_THAT(bad.out, Catch::Contains("checksum mismatch") && Catch::Contains("the file is corrupted"));
}

TEST_CASE("wb eval reports validation loss and perplexity per source", "[cli][eval]") {
  trained t;
  auto r = run_command(wb_cmd("eval small.lua --ckpt run"));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::StartsWith("run/checkpoints/step-00000012: validation loss ") &&
                        Catch::Contains("  ja         loss ") && Catch::Contains("  en         loss "));
  // the same number the run logged for its last evaluation
  auto metrics = read_jsonl("run/metrics.jsonl");
  double logged = 0;
  for (auto& j : metrics) if (j.contains("eval_loss")) logged = j["eval_loss"];
  CHECK_THAT(r.out, Catch::Contains(fmt::format("validation loss {:.4f}", logged)));
}

TEST_CASE("wb eval --tokens gives the mean next-token loss of a sequence", "[cli][eval]") {
  trained t;
  t.dir.write("text.txt", "the cat sat on the mat. the cat sat on the mat.");
  REQUIRE(run_command(wb_cmd("data encode --tokenizer tok.json --text text.txt > ids.txt")).status == 0);
  auto r = run_command(wb_cmd("eval small.lua --ckpt run --tokens ids.txt"));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains(": mean next-token loss ") && Catch::Contains(" predicted tokens"));
  t.dir.write("bad.txt", "1 2 x 4");
  auto bad = run_command(wb_cmd("eval small.lua --ckpt run --tokens bad.txt"));
  CHECK(bad.status == 1);
  CHECK_THAT(bad.out, Catch::Contains("bad.txt: 'x' is not a token id"));
}

TEST_CASE("wb sample continues a prompt, the same way for greedy and for the same seed", "[cli][sample]") {
  trained t;
  auto greedy = run_command(wb_cmd("sample --ckpt run --prompt \"the cat\" --max-tokens 8"));
  REQUIRE(greedy.status == 0);
  CHECK_THAT(greedy.out, Catch::StartsWith("the cat"));
  auto again = run_command(wb_cmd("sample --ckpt run --prompt \"the cat\" --max-tokens 8"));
  CHECK(again.out == greedy.out);
  auto a = run_command(wb_cmd("sample --ckpt run --prompt \"the cat\" --max-tokens 8 --temperature 1 --seed 3"));
  auto b = run_command(wb_cmd("sample --ckpt run --prompt \"the cat\" --max-tokens 8 --temperature 1 --seed 3"));
  REQUIRE(a.status == 0);
  CHECK(a.out == b.out);
}
