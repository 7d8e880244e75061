// Exact resume against the real binary: a run killed with SIGKILL at any moment and continued with
// --resume auto logs the same loss at every step and ends with bit-identical parameters and
// optimizer state as a run that was never interrupted; SIGTERM saves and exits 0.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "core/ckpt/checkpoint.hpp"
#include "tests/support/small_run.hpp"

using namespace wb::test;

namespace {

// Starts `command` in the background (its output to log_path); returns the pid of the shell's exec.
pid_t spawn(const std::string& command, const std::string& log_path) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string full = "exec " + command + " > " + log_path + " 2>&1";
    execl("/bin/sh", "sh", "-c", full.c_str(), (char*)nullptr);
    _exit(127);
  }
  return pid;
}

// The highest step whose loss is in metrics.jsonl (0 when none).
long long last_step(const std::string& path) {
  long long last = 0;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    try {
      auto j = nlohmann::json::parse(line);
      if (j.contains("loss")) last = std::max<long long>(last, j["step"]);
    } catch (...) {}  // a line being written
  }
  return last;
}

void wait_for_step(const std::string& metrics, long long step) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (last_step(metrics) < step && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The loss of each step, the last one logged winning (a resumed run logs the redone steps again).
std::map<long long, double> losses(const std::string& metrics) {
  std::map<long long, double> out;
  for (auto& j : read_jsonl(metrics))
    if (j.contains("loss")) out[j["step"]] = j["loss"];
  return out;
}

void require_same_state(const std::string& a, const std::string& b) {
  wb::ckpt_reader x(a), y(b);
  REQUIRE(x.tensors().size() == y.tensors().size());
  for (auto& t : x.tensors()) {
    auto* u = y.find(t.meta.name);
    REQUIRE(u);
    REQUIRE(t.bytes == u->bytes);
    INFO(t.meta.name);
    REQUIRE(std::memcmp(t.meta.data, u->meta.data, t.bytes) == 0);
  }
  CHECK(x.manifest()["state"] == y.manifest()["state"]);
}

const std::string run_flags = " --threads 2 checkpoint.every=3 checkpoint.keep=10";

}  // namespace

TEST_CASE("a run killed with SIGKILL and resumed matches an uninterrupted run exactly", "[cli][resume][kill]") {
  small_run s;
  // bf16 mixed precision keeps fp32 master weights and AdamW state: its resume is exact too.
  std::string run_flags = ::run_flags + GENERATE(std::string(""), std::string(" model.precision=bf16"));
  INFO("flags:" << run_flags);
  REQUIRE(run_command(wb_cmd("run small.lua --out straight" + run_flags)).status == 0);
  auto expected = losses("straight/metrics.jsonl");
  REQUIRE(expected.size() == 12);

  // k = 4: between checkpoints (step 4 is redone from step 3); k = 6: just after a checkpoint;
  // k = 1: before the first checkpoint (the resume starts from scratch).
  for (long long k : {4, 6, 1}) {
    std::string dir = "killed" + std::to_string(k);
    pid_t pid = spawn(wb_cmd("run small.lua --out " + dir + run_flags), dir + ".log");
    wait_for_step(dir + "/metrics.jsonl", k);
    kill(pid, SIGKILL);
    CHECK(wait_exit(pid) == 128 + SIGKILL);
    INFO("killed after step " << last_step(dir + "/metrics.jsonl"));
    auto r = run_command(wb_cmd("run small.lua --out " + dir + " --resume auto" + run_flags));
    INFO(r.out);
    REQUIRE(r.status == 0);
    CHECK(losses(dir + "/metrics.jsonl") == expected);
    require_same_state("straight/checkpoints/step-00000012", dir + "/checkpoints/step-00000012");
  }
}

TEST_CASE("a SIGKILL at a random moment leaves only complete checkpoints, and the run resumes exactly", "[cli][resume][kill]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out straight --threads 2")).status == 0);
  for (int trial = 0; trial < 4; ++trial) {
    std::string dir = "k" + std::to_string(trial);
    std::string flags = " --threads 2 checkpoint.every=1 checkpoint.keep=3";
    pid_t pid = spawn(wb_cmd("run small.lua --out " + dir + flags), dir + ".log");
    wait_for_step(dir + "/metrics.jsonl", 2 + trial);
    std::this_thread::sleep_for(std::chrono::microseconds(300 * trial));
    kill(pid, SIGKILL);
    wait_exit(pid);
    // Whatever was being written is absent or complete: nothing named step-N is half there.
    for (auto& c : wb::ckpt_list(dir + "/checkpoints")) CHECK(wb::ckpt_verify(c) == "");
    for (auto& e : std::filesystem::directory_iterator(dir + "/checkpoints")) {
      std::string name = e.path().filename().string();
      if (name.rfind("step-", 0) == 0) CHECK(std::filesystem::exists(e.path() / "manifest.json"));
    }
    auto r = run_command(wb_cmd("run small.lua --out " + dir + " --resume auto" + flags));
    REQUIRE(r.status == 0);
    CHECK(losses(dir + "/metrics.jsonl") == losses("straight/metrics.jsonl"));
    require_same_state("straight/checkpoints/step-00000012", dir + "/checkpoints/step-00000012");
  }
}

TEST_CASE("SIGTERM finishes the step, writes a checkpoint and exits 0, and the run then resumes", "[cli][resume][sigterm]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out straight --steps 40 --threads 2 checkpoint.every=100")).status == 0);
  auto expected = losses("straight/metrics.jsonl");
  pid_t pid = spawn(wb_cmd("run small.lua --out term --steps 40 --threads 2 checkpoint.every=100"), "term.log");
  wait_for_step("term/metrics.jsonl", 5);
  kill(pid, SIGTERM);
  CHECK(wait_exit(pid) == 0);
  std::ifstream log("term.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  CHECK_THAT(text, Catch::Contains("stopped by Terminated after step ") && Catch::Contains("--resume auto"));
  auto saved = wb::ckpt_latest("term/checkpoints");
  REQUIRE(saved);
  CHECK(wb::ckpt_verify(*saved) == "");
  auto r = run_command(wb_cmd("run small.lua --out term --resume auto --threads 2 checkpoint.every=100"));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("resumed from step "));
  CHECK(losses("term/metrics.jsonl") == expected);
  require_same_state("straight/checkpoints/step-00000040", "term/checkpoints/step-00000040");
}

TEST_CASE("resuming with a recipe whose model differs names the tensor and both shapes", "[cli][resume]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out a --steps 3 --threads 1")).status == 0);
  auto r = run_command(wb_cmd("run small.lua --out a --resume auto --threads 1 model.ffn=96"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("wb run: a/checkpoints/step-00000003: tensor 'model.layers.0.mlp.w1' has shape "
                                    "(128, 64), the recipe's model needs (96, 64)"));
}

TEST_CASE("a checkpoint resharded into row slices over three files resumes exactly", "[cli][resume][reshard]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out straight" + run_flags)).status == 0);
  REQUIRE(run_command(wb_cmd("run small.lua --out part --steps 12 --threads 2 checkpoint.every=6 checkpoint.keep=10")).status == 0);
  // Rewrite step 6 as three "ranks" holding uneven row ranges of every tensor.
  std::string source = "part/checkpoints/step-00000006";
  std::vector<std::vector<float>> storage;
  wb::ckpt_contents c;
  {
    wb::ckpt_reader r(source);
    auto& m = r.manifest();
    c.step = m["step"];
    c.recipe_hash = m["recipe_hash"];
    c.tokenizer_fingerprint = m["tokenizer_fingerprint"];
    c.recipe = m["recipe"];
    c.layout = {{"dp", 1}, {"tp", 3}, {"pp", 1}, {"ranks", 3}};
    c.state = m["state"];
    storage.reserve(r.tensors().size() * 3);
    for (auto& t : r.tensors()) {
      auto g = t.meta.global_shape;
      int64_t rows = g[0], row = 1;
      for (size_t d = 1; d < g.size(); ++d) row *= g[d];
      int64_t cuts[4] = {0, rows / 3, rows / 3 + (rows + 1) / 3, rows};
      for (int k = 0; k < 3; ++k) {
        auto shape = g;
        shape[0] = cuts[k + 1] - cuts[k];
        if (shape[0] == 0) continue;
        auto* from = reinterpret_cast<const float*>(t.meta.data) + cuts[k] * row;
        storage.emplace_back(from, from + shape[0] * row);
        std::vector<int64_t> offset(g.size(), 0);
        offset[0] = cuts[k];
        c.tensors.push_back({t.meta.name, t.meta.dtype, shape, g, offset, storage.back().data(), k});
      }
    }
  }
  std::string resharded = wb::ckpt_write("resharded", c);
  REQUIRE(wb::ckpt_reader(resharded).manifest()["files"].size() == 3);
  std::filesystem::remove_all("part/checkpoints/step-00000012");
  auto r = run_command(wb_cmd("run small.lua --out part --resume " + resharded + " --threads 2 checkpoint.every=6 checkpoint.keep=10"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("resumed from step 6"));
  require_same_state("straight/checkpoints/step-00000012", "part/checkpoints/step-00000012");
}

TEST_CASE("resuming with another tokenizer than the checkpoint's is refused, printing both", "[cli][resume]") {
  small_run s;
  REQUIRE(run_command(wb_cmd("run small.lua --out a --steps 3 --threads 1")).status == 0);
  // Same vocabulary size, other merges: a different tokenizer that the data must not be read with.
  REQUIRE(run_command(wb_cmd("data tokenizer-train --vocab 320 --in en/doc1.txt --out other.json")).status == 0);
  REQUIRE(run_command(wb_cmd("data prepare --tokenizer other.json --in ja --out other/ja")).status == 0);
  REQUIRE(run_command(wb_cmd("data prepare --tokenizer other.json --in en --out other/en")).status == 0);
  auto r = run_command(wb_cmd("run small.lua --out a --resume auto --threads 1 data.tokenizer=other.json "
                              "data.sources.ja.path=other/ja data.sources.en.path=other/en"));
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains("wb run: a/checkpoints/step-00000003: written with tokenizer ") &&
                        Catch::Contains(", the recipe's tokenizer is "));
}
