// `wb run --nproc N parallel.tp=2` for real: rank processes over libfabric shm train the small
// recipe (GQA Llama, tied embeddings) split Megatron-style, with the same losses as one process
// within fp32 rounding, tp=2 alone and tp=2 x dp=2; each rank holds about half the parameters
// (metrics.jsonl's peak parameter memory); checkpoints written as tp slices resume in one process
// and the other way round.
#include <catch2/catch.hpp>

#include <map>

#include "tests/support/small_run.hpp"

using namespace wb::test;

namespace {

std::map<long long, double> values(const std::string& metrics, const char* key) {
  std::map<long long, double> out;
  for (auto& j : read_jsonl(metrics))
    if (j.contains(key)) out[j["step"]] = j[key];
  return out;
}

double max_difference(const std::map<long long, double>& a, const std::map<long long, double>& b, size_t steps) {
  double worst = 0;
  size_t common = 0;
  for (auto& [step, v] : b)
    if (a.count(step)) worst = std::max(worst, std::abs(a.at(step) - v)), ++common;
  REQUIRE(common == steps);
  return worst;
}

double peak_parameter_bytes(const std::string& metrics) {
  for (auto& j : read_jsonl(metrics))
    if (j.contains("peak_memory_bytes")) return j["peak_memory_bytes"]["parameters"];
  return 0;
}

// Losses 2 to 6: the same fp32 tolerance as data parallel (run_data_parallel_test.cpp).
constexpr double loss_tolerance = 1e-5;

}  // namespace

TEST_CASE("wb run --nproc 2 parallel.tp=2 gives the single-process losses with half the parameters per rank", "[cli][run][tp]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out one")).status == 0);
  auto two = run_command(wb_cmd("run small.lua --out tp2 --nproc 2 parallel.tp=2"));
  INFO(two.out);
  REQUIRE(two.status == 0);
  CHECK_THAT(two.out, Catch::Contains("[rank 0/2] step    12/12"));
  double worst = max_difference(values("one/metrics.jsonl", "loss"), values("tp2/metrics.jsonl", "loss"), 12);
  double worst_eval = max_difference(values("one/metrics.jsonl", "eval_loss"), values("tp2/metrics.jsonl", "eval_loss"), 2);
  std::printf("tp=2 vs one process, 12 steps: max |loss difference| %.3g, eval %.3g\n", worst, worst_eval);
  CHECK(worst < loss_tolerance);
  CHECK(worst_eval < loss_tolerance);
  double one_bytes = peak_parameter_bytes("one/metrics.jsonl"), tp_bytes = peak_parameter_bytes("tp2/metrics.jsonl");
  std::printf("peak parameter bytes: one process %.0f, tp=2 rank 0 %.0f\n", one_bytes, tp_bytes);
  CHECK(tp_bytes < 0.55 * one_bytes);  // only the norms (~0.2%) are held by both ranks
  CHECK(std::filesystem::exists("tp2/checkpoints/step-00000012/tensors-1.safetensors"));
}

TEST_CASE("wb run --nproc 4 parallel.tp=2 parallel.dp=2 gives the single-process losses", "[cli][run][tp]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out one")).status == 0);
  auto four = run_command(wb_cmd("run small.lua --out tp2dp2 --nproc 4 parallel.tp=2 parallel.dp=2"));
  INFO(four.out);
  REQUIRE(four.status == 0);
  double worst = max_difference(values("one/metrics.jsonl", "loss"), values("tp2dp2/metrics.jsonl", "loss"), 12);
  std::printf("tp=2 x dp=2 vs one process, 12 steps: max |loss difference| %.3g\n", worst);
  CHECK(worst < loss_tolerance);
}

TEST_CASE("a checkpoint written by tp=2 resumes in one process and one from one process resumes in tp=2", "[cli][run][tp]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out ref")).status == 0);
  auto reference = values("ref/metrics.jsonl", "loss");
  REQUIRE(run_command(wb_cmd("run small.lua --out tp2 --nproc 2 parallel.tp=2 checkpoint.every=6")).status == 0);
  REQUIRE(run_command(wb_cmd("run small.lua --out tp1 checkpoint.every=6")).status == 0);

  auto to_one = run_command(wb_cmd("run small.lua --out to1 --resume tp2/checkpoints/step-00000006"));
  INFO(to_one.out);
  REQUIRE(to_one.status == 0);
  CHECK_THAT(to_one.out, Catch::Contains("resumed from step 6"));
  CHECK(max_difference(reference, values("to1/metrics.jsonl", "loss"), 6) < loss_tolerance);

  auto to_two = run_command(wb_cmd("run small.lua --out to2 --nproc 2 parallel.tp=2 --resume tp1/checkpoints/step-00000006"));
  INFO(to_two.out);
  REQUIRE(to_two.status == 0);
  CHECK_THAT(to_two.out, Catch::Contains("resumed from step 6"));
  CHECK(max_difference(reference, values("to2/metrics.jsonl", "loss"), 6) < loss_tolerance);
}
