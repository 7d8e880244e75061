// `wb run --nproc N parallel.pp=2` for real: rank processes over libfabric shm train the small
// recipe (GQA Llama, tied embeddings: the output layer's copy on the last stage) split into
// pipeline stages under 1F1B and the interleaved schedule, alone and with tp=2 or dp=2, with the
// same losses and evaluation as one process within fp32 rounding; checkpoints written by stages
// resume in one process and under tensor parallel, and a single-process checkpoint resumes in stages.
// With dp=2 the gradient reduction overlapped with the schedule gives the losses of the reduction
// after it.
#include <catch2/catch.hpp>

#include "tests/support/small_run.hpp"

using namespace wb::test;

TEST_CASE("wb run --nproc 2 parallel.pp=2 (1F1B) gives the single-process losses", "[cli][run][pp]") {
  small_run s;
  check_against_one_process("parallel.pp=2", "", 2);
  // stage 1 wrote its layer and the final norm; the tied output layer's copy is not written twice
  CHECK(std::filesystem::exists("split/checkpoints/step-00000012/tensors-1.safetensors"));
  // Every rank's accounting reaches metrics.jsonl: the two stages' parameters are the whole model
  // plus the last stage's copy of the tied embedding (vocab 320 x dim 64, f32), exactly.
  auto last = read_jsonl("split/metrics.jsonl");
  nlohmann::json by_rank, one_peaks;
  for (auto& j : last)
    if (j.contains("peak_memory_bytes_by_rank")) by_rank = j["peak_memory_bytes_by_rank"];
  for (auto& j : read_jsonl("one/metrics.jsonl"))
    if (j.contains("peak_memory_bytes")) one_peaks = j["peak_memory_bytes"];
  REQUIRE(by_rank.size() == 2);
  double stages = double(by_rank[0]["parameters"]) + double(by_rank[1]["parameters"]);
  CHECK(stages == double(one_peaks["parameters"]) + 320.0 * 64 * 4);
  CHECK(double(by_rank[1]["activations"]) > 0);
}

TEST_CASE("wb run --nproc 2 parallel.pp=2 parallel.virtual_stages=2 (interleaved) gives the single-process losses", "[cli][run][pp]") {
  small_run s;
  check_against_one_process("parallel.pp=2 parallel.virtual_stages=2", "model.layers=4 parallel.microbatch=2", 2);
}

TEST_CASE("wb run --nproc 4 parallel.tp=2 parallel.pp=2 gives the single-process losses", "[cli][run][pp]") {
  small_run s;
  check_against_one_process("parallel.tp=2 parallel.pp=2", "", 4);
}

// With the overlap on (the default) each stage's data-parallel reduction runs on a channel of its
// own during the stage's cooldown; over two replicas each element is one addition either way, so
// the losses with it off are the same bit for bit.
TEST_CASE("wb run --nproc 4 parallel.dp=2 parallel.pp=2 gives the single-process losses, overlapped or not", "[cli][run][pp][overlap]") {
  small_run s;
  check_against_one_process("parallel.dp=2 parallel.pp=2", "parallel.microbatch=2", 4);
  auto off = run_command(wb_cmd("run small.lua --out off --nproc 4 parallel.dp=2 parallel.pp=2 parallel.microbatch=2 "
                                "parallel.overlap_grad_reduce=false"));
  INFO(off.out);
  REQUIRE(off.status == 0);
  auto on_losses = metric_values("split/metrics.jsonl", "loss"), off_losses = metric_values("off/metrics.jsonl", "loss");
  REQUIRE(on_losses.size() == 12);
  CHECK(on_losses == off_losses);
}

TEST_CASE("checkpoints move between pipeline stages, one process and tensor parallel", "[cli][run][pp]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out ref")).status == 0);
  auto reference = metric_values("ref/metrics.jsonl", "loss");
  REQUIRE(run_command(wb_cmd("run small.lua --out pp2 --nproc 2 parallel.pp=2 checkpoint.every=6")).status == 0);
  REQUIRE(run_command(wb_cmd("run small.lua --out pp1 checkpoint.every=6")).status == 0);
  // ZeRO-1 (the recipe default) shards each stage's moments over its two replicas
  REQUIRE(run_command(wb_cmd("run small.lua --out dppp --nproc 4 parallel.dp=2 parallel.pp=2 parallel.microbatch=2 "
                             "checkpoint.every=6")).status == 0);
  struct resume_case {
    const char* name;
    std::string args;
  };
  for (auto& c : {resume_case{"pp=2 -> one process", "--out a --resume pp2/checkpoints/step-00000006"},
                  resume_case{"pp=2 -> tp=2", "--out b --nproc 2 parallel.tp=2 --resume pp2/checkpoints/step-00000006"},
                  resume_case{"one process -> pp=2", "--out c --nproc 2 parallel.pp=2 --resume pp1/checkpoints/step-00000006"},
                  resume_case{"dp=2 x pp=2 with ZeRO-1 -> one process", "--out d --resume dppp/checkpoints/step-00000006"},
                  resume_case{"one process -> dp=2 x pp=2 with ZeRO-1",
                              "--out e --nproc 4 parallel.dp=2 parallel.pp=2 --resume pp1/checkpoints/step-00000006"}}) {
    auto r = run_command(wb_cmd("run small.lua " + c.args));
    INFO(c.name << "\n" << r.out);
    REQUIRE(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("resumed from step 6"));
    std::string dir = c.args.substr(6, 1);
    CHECK(max_difference(reference, metric_values(dir + "/metrics.jsonl", "loss"), 6) < loss_tolerance);
  }
}

TEST_CASE("wb run refuses a pipeline layout that does not divide the layers or the microbatches", "[cli][run][pp]") {
  small_run s;
  auto bad = run_command(wb_cmd("run small.lua --out bad --nproc 2 parallel.pp=2 parallel.virtual_stages=2"));
  CHECK(bad.status != 0);
  // `wb check`'s layout rules (core/recipe/layout_check.cpp) name the override at fault
  CHECK_THAT(bad.out, Catch::Contains("parallel.virtual_stages=2") && Catch::Contains("to divide layers (2)"));
  auto odd = run_command(wb_cmd("run small.lua --out odd --nproc 2 parallel.pp=2 parallel.virtual_stages=2 model.layers=4 "
                                "parallel.microbatch=8"));  // one microbatch per step, pp = 2
  CHECK(odd.status != 0);
  CHECK_THAT(odd.out, Catch::Contains("small.lua:7") && Catch::Contains("divisible by pp (2)"));
}
