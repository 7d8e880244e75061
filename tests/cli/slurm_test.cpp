// `wb run --launcher slurm`: the generated sbatch script, and a real one-node Slurm cluster on
// loopback (tests/support/slurm_cluster.sh) that trains a small recipe, is requeued mid-run (as
// on preemption or node replacement) and resumes from its checkpoint to the last step. Where
// Slurm cannot start here, the test says skipped with the reason.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <thread>

#include "core/ckpt/checkpoint.hpp"
#include "tests/support/small_run.hpp"

using namespace wb::test;
namespace fs = std::filesystem;

namespace {

std::string source(const char* rel) { return std::string(WB_SOURCE_DIR) + "/" + rel; }

// Polls `done` every 0.5 s for up to `seconds`.
template <class F>
bool wait_for(double seconds, F&& done) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return done();
}

std::string job_state(const std::string& job) {
  auto r = run_command("scontrol show job " + job);
  std::smatch m;
  return std::regex_search(r.out, m, std::regex("JobState=([A-Z_]+)")) ? m[1].str() : "";
}

long long last_step(const std::string& metrics) {
  long long step = 0;
  if (!fs::exists(metrics)) return 0;
  for (auto& j : read_jsonl(metrics))
    if (j.contains("loss")) step = j["step"].get<long long>();
  return step;
}

struct slurm_cluster {
  std::string dir, why_not;
  bool up = false;
  explicit slurm_cluster(std::string d) : dir(std::move(d)) {
    auto r = run_command(source("tests/support/slurm_cluster.sh") + " start " + dir);
    if (r.status != 0) {
      why_not = r.out;
      return;
    }
    setenv("SLURM_CONF", (dir + "/slurm.conf").c_str(), 1);
    up = true;
  }
  ~slurm_cluster() {
    if (!up) return;
    run_command("scancel --full $(squeue -h -o %i) 2>/dev/null");
    run_command(source("tests/support/slurm_cluster.sh") + " stop " + dir);
    unsetenv("SLURM_CONF");
  }
};

// Submits small.lua for `steps` steps with `overrides` to the cluster, waits for a checkpoint, requeues
// the job as on preemption and waits for it to complete. Returns the job's log; checks the restart,
// the checkpoint on SIGTERM, the resume and the last step.
std::string train_requeue_resume(small_run& s, long long steps, const std::string& overrides) {
  std::string run = (s.dir.path() / "run").string();
  auto sub = run_command(wb_cmd("run small.lua --launcher slurm --out " + run +
                                " --steps " + std::to_string(steps) + " checkpoint.every=20 train.eval_every=0 " + overrides));
  INFO(sub.out);
  REQUIRE(sub.status == 0);
  std::smatch m;
  REQUIRE(std::regex_search(sub.out, m, std::regex("submitted job ([0-9]+)")));
  std::string job = m[1].str(), metrics = run + "/metrics.jsonl";

  // Trains: steps arrive and a checkpoint is committed.
  // (Retention may already have removed step 20: any committed step-N will do.)
  auto any_checkpoint = [&] {
    if (!fs::exists(run + "/checkpoints")) return false;
    for (auto& e : fs::directory_iterator(run + "/checkpoints"))
      if (fs::exists(e.path() / "manifest.json")) return true;
    return false;
  };
  bool trained = wait_for(180, [&] { return last_step(metrics) >= 30 && any_checkpoint(); });
  auto read_log = [&] {
    std::ifstream in(run + "/slurm-" + job + ".out");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  INFO(read_log());
  REQUIRE(trained);
  // Requeued as on preemption: Slurm sends SIGTERM, wb saves, the job runs again with --resume auto.
  // Slurm delays a requeued job's start; the test makes it eligible in 3 s. Not at once: slurmd
  // revokes the first run's credential at the requeue, and a relaunch whose new credential carries
  // the same second is refused as revoked too ("Killing non-startable batch JobId=1: Job credential
  // revoked" in slurmctld.log, seen once in a fresh clone's suite; the job then ends FAILED).
  REQUIRE(run_command("scontrol requeue " + job).status == 0);
  wait_for(60, [&] { return job_state(job) == "PENDING"; });
  run_command("scontrol update JobId=" + job + " StartTime=now+3");
  std::string state;
  wait_for(600, [&] {
    state = job_state(job);
    return state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" || state == "NODE_FAIL";
  });
  std::string log = read_log();
  INFO("job state " << state << "\n" << log);
  REQUIRE(state == "COMPLETED");
  CHECK(log.find("restart 0") != std::string::npos);
  CHECK(log.find("restart 1") != std::string::npos);
  CHECK(std::regex_search(log, std::regex("stopped by .* after step [0-9]+; checkpoint .* written")));
  CHECK(std::regex_search(log, std::regex("resumed from step [1-9][0-9]*")));
  CHECK(last_step(metrics) == steps);
  CHECK(fs::exists(run + "/checkpoints/" + wb::ckpt_step_name(uint64_t(steps)) + "/manifest.json"));
  return log;
}

}  // namespace

TEST_CASE("wb run --launcher slurm --dry-run prints an sbatch script for the recipe's cluster", "[cli][slurm]") {
  auto r = run_command(wb_cmd("run " + source("recipes/llama3_8b_cpt.lua") + " cluster.time_limit=2-00:00:00 "
                              "+cluster.partition=p5 --launcher slurm --dry-run --out /fsx/runs/x"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  for (const char* line : {"#SBATCH --nodes=32\n", "#SBATCH --ntasks-per-node=8\n", "#SBATCH --gpus-per-node=8\n",
                           "#SBATCH --exclusive\n", "#SBATCH --time=2-00:00:00\n", "#SBATCH --partition=p5\n",
                           "#SBATCH --requeue\n", "#SBATCH --signal=TERM@120\n", "export FI_PROVIDER=efa\n",
                           "#SBATCH --output=/fsx/runs/x/slurm-%j.out\n", "--resume auto --out /fsx/runs/x\n"})
    CHECK(r.out.find(line) != std::string::npos);
  CHECK(r.out.find("srun --kill-on-bad-exit=1 ") != std::string::npos);
  // Trainium: 16 ranks a node, no GPU GRES.
  auto t = run_command(wb_cmd("run " + source("recipes/llama3_8b_cpt.lua") + " cluster.instance=trn1.32xlarge "
                              "parallel.dp=auto --launcher slurm --dry-run"));
  INFO(t.out);
  CHECK(t.out.find("#SBATCH --ntasks-per-node=16\n") != std::string::npos);
  CHECK(t.out.find("--gpus-per-node") == std::string::npos);
}

TEST_CASE("A run submitted to a real Slurm cluster trains, is requeued mid-run and resumes to the end", "[cli][slurm][slow]") {
  small_run s;
  slurm_cluster cluster((s.dir.path() / "slurm").string());
  if (!cluster.up) {
    WARN("skipped: no Slurm cluster here: " << cluster.why_not);
    return;
  }
  train_requeue_resume(s, 300, "");
}

// Two ranks from one srun: each reads SLURM_PROCID/SLURM_NTASKS (core/parallel/launch_env), rank 0
// listens on the script's MASTER_ADDR/MASTER_PORT, and both train with ZeRO-1 (the default
// parallel.zero); on requeue both stop after the same step, rank 0 gathers the moments into the
// checkpoint, and the requeued job's two ranks resume from it.
TEST_CASE("A 2-rank data-parallel run on a real Slurm cluster trains, is requeued mid-run and resumes to the end",
          "[cli][slurm][dp][slow]") {
  small_run s;
  slurm_cluster cluster((s.dir.path() / "slurm").string());
  if (!cluster.up) {
    WARN("skipped: no Slurm cluster here: " << cluster.why_not);
    return;
  }
  // Two ranks train this recipe at ~100 steps/s here: 2000 steps leave time to requeue mid-run.
  std::string log = train_requeue_resume(s, 2000, "parallel.dp=2");
  CHECK(log.find("[rank 0/2] run small") != std::string::npos);
  CHECK(log.find("on 2 ranks over shm") != std::string::npos);
  auto manifest = nlohmann::json::parse(std::ifstream((s.dir.path() / "run/checkpoints/step-00002000/manifest.json").string()));
  CHECK(manifest.at("layout").at("dp") == 2);
  CHECK(manifest.at("layout").at("zero") == 1);
}
