// `wb run --nproc N parallel.tp=2` for real: rank processes over libfabric shm train the small
// recipe (GQA Llama, tied embeddings) split Megatron-style, with the same losses as one process
// within fp32 rounding, tp=2 alone and tp=2 x dp=2 with ZeRO-1 (whose checkpoint resumes in one
// process and in tp=2); each rank holds about half the parameters
// (metrics.jsonl's peak parameter memory); checkpoints written as tp slices resume in one process
// and the other way round.
#include <catch2/catch.hpp>

#include <map>

#include "tests/support/small_run.hpp"

using namespace wb::test;

namespace {

double peak_bytes(const std::string& metrics, const char* category) {
  for (auto& j : read_jsonl(metrics))
    if (j.contains("peak_memory_bytes")) return j["peak_memory_bytes"][category];
  return 0;
}
double peak_parameter_bytes(const std::string& metrics) { return peak_bytes(metrics, "parameters"); }

}  // namespace

TEST_CASE("wb run --nproc 2 parallel.tp=2 gives the single-process losses with half the parameters per rank", "[cli][run][tp]") {
  small_run s;
  check_against_one_process("parallel.tp=2", "", 2);
  double one_bytes = peak_parameter_bytes("one/metrics.jsonl"), tp_bytes = peak_parameter_bytes("split/metrics.jsonl");
  std::printf("peak parameter bytes: one process %.0f, tp=2 rank 0 %.0f\n", one_bytes, tp_bytes);
  CHECK(tp_bytes < 0.55 * one_bytes);  // only the norms (~0.2%) are held by both ranks
  CHECK(std::filesystem::exists("split/checkpoints/step-00000012/tensors-1.safetensors"));
}

TEST_CASE("wb run --nproc 4 parallel.tp=2 parallel.dp=2 parallel.zero=1 gives the single-process losses and its checkpoint "
          "resumes in one process and in tp=2", "[cli][run][tp][zero]") {
  small_run s;
  check_against_one_process("parallel.tp=2 parallel.dp=2 parallel.zero=1", "checkpoint.every=6", 4);
  auto manifest = nlohmann::json::parse(std::ifstream("split/checkpoints/step-00000006/manifest.json"));
  CHECK(manifest["layout"]["zero"] == 1);  // the optimizer was sharded, and the checkpoint holds it whole
  CHECK(manifest["layout"]["tp"] == 2);
  auto reference = metric_values("one/metrics.jsonl", "loss");
  check_resumed_run("resumed1", "--resume split/checkpoints/step-00000006", reference);
  check_resumed_run("resumed2", "--nproc 2 parallel.tp=2 --resume split/checkpoints/step-00000006", reference);
}

TEST_CASE("wb run --nproc 2 parallel.tp=2 parallel.sequence_parallel=true gives the single-process losses with fewer "
          "activation bytes per rank", "[cli][run][tp][sequence_parallel]") {
  small_run s;
  check_against_one_process("parallel.tp=2 parallel.sequence_parallel=true", "", 2);
  REQUIRE(run_command(wb_cmd("run small.lua --out plain --nproc 2 parallel.tp=2")).status == 0);
  double sp = peak_bytes("split/metrics.jsonl", "activations"), plain = peak_bytes("plain/metrics.jsonl", "activations");
  std::printf("peak activation bytes of rank 0 at tp=2: %.0f with sequence parallel, %.0f without\n", sp, plain);
  CHECK(sp > 0);
  CHECK(sp < plain);  // the norms' and residuals' activations are held for half the tokens
}

TEST_CASE("a checkpoint written by tp=2 resumes in one process and one from one process resumes in tp=2", "[cli][run][tp]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out ref")).status == 0);
  auto reference = metric_values("ref/metrics.jsonl", "loss");
  REQUIRE(run_command(wb_cmd("run small.lua --out tp2 --nproc 2 parallel.tp=2 checkpoint.every=6")).status == 0);
  REQUIRE(run_command(wb_cmd("run small.lua --out tp1 checkpoint.every=6")).status == 0);

  check_resumed_run("to1", "--resume tp2/checkpoints/step-00000006", reference);
  check_resumed_run("to2", "--nproc 2 parallel.tp=2 --resume tp1/checkpoints/step-00000006", reference);
}
