// `wb run --nproc 2` for real: two rank processes over libfabric shm train the small recipe with
// the same losses as one process on the same global batch (within fp32 rounding: the gradient sum
// is reordered), with the gradients all-reduced (parallel.zero=0) or ZeRO-1's sharded optimizer
// (parallel.zero=1, the default), checkpoints move between layouts both ways, unsupported layouts are refused, and
// a rank killed mid-run takes the job down with an error naming it.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "tests/support/small_run.hpp"

using namespace wb::test;

namespace {

std::map<long long, double> losses(const std::string& metrics) { return metric_values(metrics, "loss"); }

}  // namespace

TEST_CASE("wb run --nproc 2 gives the single-process losses for the same global batch", "[cli][run][dp]") {
  small_run s;
  auto one = run_command(wb_cmd("run small.lua --out one"));
  REQUIRE(one.status == 0);
  std::string zero = GENERATE("parallel.zero=0", "parallel.zero=1");
  INFO(zero);
  auto two = run_command(wb_cmd("run small.lua --out two --nproc 2 parallel.dp=2 " + zero));
  INFO(two.out);
  REQUIRE(two.status == 0);
  CHECK_THAT(two.out, Catch::Contains("[rank 0/2] run small"));
  CHECK_THAT(two.out, Catch::Contains("on 2 ranks over shm"));
  CHECK_THAT(two.out, Catch::Contains("[rank 0/2] step    12/12"));
  CHECK_THAT(two.out, !Catch::Contains("[rank 1/2] step"));  // only rank 0 draws progress
  double worst = max_difference(losses("one/metrics.jsonl"), losses("two/metrics.jsonl"), 12);
  std::printf("dp=2 (%s) vs dp=1, 12 steps: max |loss difference| %.3g\n", zero.c_str(), worst);
  CHECK(worst < loss_tolerance);
  CHECK(std::filesystem::exists("two/checkpoints/step-00000012/manifest.json"));
  // Rank 0's optimizer_state peak: the whole moments with zero=0, its half of them with ZeRO-1.
  auto optimizer_peak = [](const std::string& metrics) {
    double peak = 0;
    for (auto& j : read_jsonl(metrics))
      if (j.contains("peak_memory_bytes")) peak = std::max(peak, j["peak_memory_bytes"]["optimizer_state"].get<double>());
    return peak;
  };
  double whole = optimizer_peak("one/metrics.jsonl"), rank0 = optimizer_peak("two/metrics.jsonl");
  std::printf("optimizer_state peak: dp=1 %.0f bytes, dp=2 (%s) rank 0 %.0f bytes\n", whole, zero.c_str(), rank0);
  REQUIRE(whole > 0);
  if (zero == "parallel.zero=1") CHECK(rank0 == Approx(whole / 2).margin(8));  // 2 moments x 1 odd float
  else CHECK(rank0 == whole);
}

// Overlapping the bucket reductions with backward (parallel.overlap_grad_reduce, the default) sums
// the same two values per element as the reduction after backward, so over two ranks the losses are
// bit-identical; two microbatches per rank exercise the accumulation (only the last is overlapped,
// ZeRO-2 overlaps each).
TEST_CASE("wb run --nproc 2 gives the same losses with the gradient reduction overlapped with backward or after it",
          "[cli][run][dp][overlap]") {
  small_run s;
  std::string zero = GENERATE("parallel.zero=0", "parallel.zero=1", "parallel.zero=2");
  INFO(zero);
  REQUIRE(run_command(wb_cmd("run small.lua --out one parallel.microbatch=2")).status == 0);
  auto on = run_command(wb_cmd("run small.lua --out on --nproc 2 parallel.dp=2 parallel.microbatch=2 " + zero));
  auto off = run_command(wb_cmd("run small.lua --out off --nproc 2 parallel.dp=2 parallel.microbatch=2 "
                                "parallel.overlap_grad_reduce=false " + zero));
  INFO(on.out << off.out);
  REQUIRE(on.status == 0);
  REQUIRE(off.status == 0);
  auto a = losses("on/metrics.jsonl"), b = losses("off/metrics.jsonl");
  REQUIRE(a.size() == 12);
  CHECK(a == b);
  double worst = max_difference(losses("one/metrics.jsonl"), a, 12);
  std::printf("dp=2 (%s, overlapped, 2 microbatches) vs dp=1, 12 steps: max |loss difference| %.3g\n", zero.c_str(), worst);
  CHECK(worst < loss_tolerance);
}

// Under ZeRO-1 each rank holds a shard of the moments; rank 0 gathers them, so the checkpoint is
// whole and resumes under any layout.
TEST_CASE("a checkpoint written by dp=2 with ZeRO-1 resumes in dp=1 and one written by dp=1 resumes in dp=2 with ZeRO-1",
          "[cli][run][dp][zero]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out ref")).status == 0);
  auto reference = losses("ref/metrics.jsonl");
  REQUIRE(run_command(wb_cmd("run small.lua --out dp2 --nproc 2 parallel.dp=2 parallel.zero=1 checkpoint.every=6")).status == 0);
  REQUIRE(run_command(wb_cmd("run small.lua --out dp1 checkpoint.every=6")).status == 0);

  check_resumed_run("to1", "--resume dp2/checkpoints/step-00000006", reference);
  check_resumed_run("to2", "--nproc 2 parallel.dp=2 parallel.zero=1 --resume dp1/checkpoints/step-00000006", reference);
}

TEST_CASE("wb run --nproc refuses a layout it cannot execute, at the recipe's line", "[cli][run][dp]") {
  small_run s;
  auto dp = run_command(wb_cmd("run small.lua --out x --nproc 2"));
  CHECK(dp.status == 1);
  CHECK_THAT(dp.out, Catch::Contains("Invalid 'parallel.dp' 1: expected the number of ranks (2, from --nproc), got 1"));
  CHECK_THAT(dp.out, Catch::Contains("hint: add parallel.dp=2"));
  auto pp = run_command(wb_cmd("run small.lua --out x --nproc 2 parallel.dp=2 parallel.tp=2 parallel.pp=2 model.layers=2"));
  CHECK(pp.status == 1);
  CHECK_THAT(pp.out, Catch::Contains("Invalid 'parallel.pp' 2: expected parallel.tp x parallel.pp (2 x 2) to divide the number "
                                     "of ranks (2, from --nproc)"));
  auto tp = run_command(wb_cmd("run small.lua --out x --nproc 2 parallel.tp=4 model.heads=8 model.kv_heads=4"));
  CHECK(tp.status == 1);
  CHECK_THAT(tp.out, Catch::Contains("Invalid 'parallel.tp' 4: expected a divisor of the number of ranks (2, from --nproc)"));
  auto tpdp = run_command(wb_cmd("run small.lua --out x --nproc 4 parallel.tp=2"));
  CHECK(tpdp.status == 1);
  CHECK_THAT(tpdp.out, Catch::Contains("Invalid 'parallel.dp' 1: expected the number of ranks (4, from --nproc) / (parallel.tp x parallel.pp = 2) = 2, got 1"));
}

namespace {

// Kills rank 1 of a 2-rank run of `layout` once it trains; the job must end naming it.
void check_killed_rank_is_named(const std::string& layout, int nproc = 2) {
  small_run s;
  std::string log = "killed.log";
  pid_t launcher = fork();
  if (launcher == 0) {
    setenv("WB_FABRIC_TIMEOUT", "3", 1);
    std::string cmd = "exec " + wb_cmd("run small.lua --out killed --nproc " + std::to_string(nproc) + " " + layout + " train.steps=100000 "
                                       "train.eval_every=0 checkpoint.every=0") + " > " + log + " 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), (char*)nullptr);
    _exit(127);
  }
  // Wait for training to be under way, then find rank 1 among the launcher's children.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (losses("killed/metrics.jsonl").size() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(losses("killed/metrics.jsonl").size() >= 3);
  pid_t rank1 = 0;
  std::ifstream children("/proc/" + std::to_string(launcher) + "/task/" + std::to_string(launcher) + "/children");
  for (pid_t child; children >> child;) {
    std::ifstream env("/proc/" + std::to_string(child) + "/environ", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (all.find(std::string("RANK=1") + '\0') != std::string::npos && all.find("LOCAL_RANK=1") != std::string::npos) rank1 = child;
  }
  REQUIRE(rank1 > 0);
  auto killed_at = std::chrono::steady_clock::now();
  kill(rank1, SIGKILL);
  int status = 0;
  waitpid(launcher, &status, 0);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  std::ifstream in(log);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(out);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);
  CHECK_THAT(out, Catch::Contains("[rank 0/" + std::to_string(nproc) + "] wb run: "));
  CHECK_THAT(out, Catch::Contains("rank 1 exited or lost its connection"));
  CHECK(seconds < 3 + 5);  // WB_FABRIC_TIMEOUT plus margin; a closed socket is noticed at once
}

}  // namespace

TEST_CASE("a rank killed during wb run --nproc 2 ends the job with an error naming it", "[cli][run][dp][failure]") {
  check_killed_rank_is_named("parallel.dp=2");
}

TEST_CASE("a pipeline stage killed during wb run --nproc 2 parallel.pp=2 ends the job naming it", "[cli][run][pp][failure]") {
  check_killed_rank_is_named("parallel.dp=1 parallel.pp=2");
}

TEST_CASE("a rank killed during wb run --nproc 4 parallel.tp=2 parallel.dp=2, data parallel on a channel of its own, ends "
          "the job naming it", "[cli][run][tp][failure]") {
  // Rank 1 is rank 0's tp peer: rank 0's training thread waits for it on the first endpoint, and its
  // comm thread for rank 2 on the channel, which shares the first endpoint's failure detection.
  check_killed_rank_is_named("parallel.tp=2 parallel.dp=2 parallel.zero=2", 4);
}

TEST_CASE("a rank killed during wb run --nproc 4 parallel.dp=2 parallel.pp=2, data parallel on a channel of its own, ends "
          "the job naming it", "[cli][run][pp][failure]") {
  // Rank 1 is rank 0's data-parallel peer (stage 0 of the second replica): rank 0's comm thread
  // waits for it on the channel, its training thread for rank 2 (stage 1) on the first endpoint.
  check_killed_rank_is_named("parallel.dp=2 parallel.pp=2", 4);
}
