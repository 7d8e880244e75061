// `wb run RECIPE [key=value ...] [--steps N] [--out DIR] [--rehearse] [--nproc N]`: train on this
// machine, or say why the recipe does not fit it and how to rehearse it. With --nproc N (or inside
// srun / torchrun, whose variables name the rank) the run is data parallel over N rank processes.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

#include "backends/cpu/cpu_backend.hpp"
#include "backends/fabric/fabric_collective.hpp"
#include "cli/command.hpp"
#include "cli/launch_slurm.hpp"
#include "cli/local_launch.hpp"
#include "core/parallel/launch_env.hpp"
#include "core/model/param_layout.hpp"
#include "core/recipe/canonical.hpp"
#include "core/run/machine.hpp"
#include "core/run/rehearsal.hpp"
#include "core/run/train_run.hpp"
#include "core/tokenizer/tokenizer_json.hpp"
#include "core/util/atomic_file.hpp"
#include "lua/recipe_eval.hpp"

namespace fs = std::filesystem;

namespace wb {
namespace {

// SIGTERM (Slurm preemption, scancel) and SIGINT (Ctrl-C): finish the step, save, exit 0.
std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};
extern "C" void on_stop_signal(int sig) {
  stop_signal = sig;
  stop_requested = true;
}

struct run_args {
  recipe_args recipe;
  std::string resume;
  long long steps = 0;
  std::string out;
  bool rehearse = false;
  int threads = -1;
  int nproc = 0;
  std::string launcher = "local";
  bool dry_run = false;
};

// "[rank 1/2] " on every line a rank prints in a multi-rank job; "" in a single process.
std::string log_prefix;

std::string gib(double bytes) { return fmt::format("{:.1f} GiB", bytes / double(1ull << 30)); }

std::string duration(double s) {
  if (!std::isfinite(s)) return "?";
  long long t = (long long)std::llround(s);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

std::string default_run_dir(const std::string& name) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return fmt::format("runs/{}-{}", name, stamp);
}

// Says what the recipe needs and what this machine has; true when it does not fit.
bool refuse_if_too_big(const std::string& path, const recipe& r, const machine_info& mi) {
  double need = model_state_bytes(r);
  bool remote = r.cluster.instance != "local";
  if (!remote && need < 0.8 * double(mi.memory_available)) return false;
  long long params = param_count(r.model);
  std::fprintf(stderr,
               "%s: this recipe trains %s parameters (%s, %d layers x %d dim)%s; its weights, gradients and AdamW "
               "state alone need about %s, and this machine has %s available (of %s) and %d cores.\n"
               "  Rehearse it here at small scale (same family, data mix, tokenizer, optimizer and schedule):\n"
               "    wb run %s --rehearse\n"
               "  Submit it to its cluster's Slurm (from a login node; --dry-run prints the sbatch script):\n"
               "    wb run %s --launcher slurm\n",
               path.c_str(), fmt::format("{:.3g}B", double(params) / 1e9).c_str(), r.model.family.c_str(),
               r.model.layers, r.model.dim,
               remote ? fmt::format(" on {} x {}", r.cluster.nodes, r.cluster.instance).c_str() : "",
               gib(need).c_str(), gib(double(mi.memory_available)).c_str(), gib(double(mi.memory_total)).c_str(),
               mi.cores, path.c_str(), path.c_str());
  return true;
}

void draw(const step_report& s, bool tty, long long log_every) {
  if (!tty && s.step % log_every != 0 && s.step != s.steps && s.step != 1) return;
  int width = 24, filled = int(double(width) * double(s.step) / double(s.steps));
  std::string line = fmt::format("step {:>5}/{} [{}{}] loss {:.4f} lr {:.2e} grad {:.3g} {:.0f} tok/s ETA {}{}", s.step,
                                 s.steps, std::string(size_t(filled), '#'), std::string(size_t(width - filled), '.'),
                                 s.loss, s.lr, s.grad_norm, s.tokens_per_s, duration(s.eta_s),
                                 s.skipped ? " (skipped: non-finite)" : "");
  if (tty) std::fprintf(stderr, "\r%s%s\033[K%s", log_prefix.c_str(), line.c_str(), s.step == s.steps ? "\n" : "");
  else std::fprintf(stderr, "%s%s\n", log_prefix.c_str(), line.c_str());
}

// The runtime executes data, tensor and pipeline parallel: the layout must be tp x dp x pp = ranks,
// with a tp the model can split (the recipe's own checks, core/recipe/layout_check.cpp, already
// asked pp x virtual_stages to divide the layers and the interleaved schedule's microbatches to be
// a multiple of pp). Prints the error at the recipe's line and returns false when not.
bool check_layout_for_ranks(const resolved_recipe& res, const recipe& r, const std::string& path, int ranks,
                            const std::string& source) {
  auto where = [&](const char* key) {
    auto* at = res.tree.at_path(key);
    return at ? at->loc.str() : path;
  };
  if (r.parallel.tp < 1 || ranks % r.parallel.tp) {
    std::fprintf(stderr, "%s: Invalid 'parallel.tp' %d: expected a divisor of the number of ranks (%d, from %s)\n",
                 where("parallel.tp").c_str(), r.parallel.tp, ranks, source.c_str());
    return false;
  }
  if (r.parallel.pp < 1 || ranks % (r.parallel.tp * r.parallel.pp)) {
    std::fprintf(stderr, "%s: Invalid 'parallel.pp' %d: expected parallel.tp x parallel.pp (%d x %d) to divide the number of "
                         "ranks (%d, from %s)\n",
                 where("parallel.pp").c_str(), r.parallel.pp, r.parallel.tp, r.parallel.pp, ranks, source.c_str());
    return false;
  }
  if (std::string err = tensor_parallel_error(r.model, r.parallel.tp); !err.empty()) {
    std::fprintf(stderr, "%s: Invalid 'parallel.tp' %d: %s\n", where("parallel.tp").c_str(), r.parallel.tp, err.c_str());
    return false;
  }
  int model_parallel = r.parallel.tp * r.parallel.pp, dp = ranks / model_parallel;
  if (r.parallel.dp != dp) {
    std::string expected = model_parallel == 1
                               ? fmt::format("the number of ranks ({}, from {})", ranks, source)
                               : fmt::format("the number of ranks ({}, from {}) / (parallel.tp x parallel.pp = {}) = {}", ranks,
                                             source, model_parallel, dp);
    std::fprintf(stderr, "%s: Invalid 'parallel.dp' %d: expected %s, got %d\n  hint: add parallel.dp=%d\n",
                 where("parallel.dp").c_str(), r.parallel.dp, expected.c_str(), r.parallel.dp, dp);
    return false;
  }
  return true;
}

// FI_PROVIDER wins, then the recipe's cluster.fabric; "auto" is shm when every rank is on this
// machine, else tcp (schema: cluster.fabric).
std::string fabric_provider_for(const recipe& r, const launch_env& env) {
  if (const char* p = std::getenv("FI_PROVIDER"); p && *p) return p;
  if (!r.cluster.fabric.empty() && r.cluster.fabric != "auto") return r.cluster.fabric;
  return env.one_node ? "shm" : "tcp";
}

int run(const run_args& a) {
  launch_env env = launch_env_from_process();
  if (a.nproc > 1 && env.launcher != "none" && env.world != a.nproc) {
    std::fprintf(stderr, "wb run: --nproc %d, but the %s environment says %d ranks; hint: drop --nproc under srun or "
                         "torchrun\n", a.nproc, env.launcher.c_str(), env.world);
    return 2;
  }
  if (env.world > 1) log_prefix = fmt::format("[rank {}/{}] ", env.rank, env.world);
  const bool lead = env.rank == 0;
  auto loaded = a.recipe.load();
  if (!loaded) return 1;
  resolved_recipe& res = *loaded;
  recipe r = *res.config;
  if (a.launcher == "slurm")
    return launch_slurm({&res, a.recipe.path, a.recipe.overrides, a.out.empty() ? default_run_dir(r.name) : a.out, a.steps, a.dry_run});
  if (a.threads >= 0) r.train.threads = a.threads;
  machine_info mi = machine_probe();
  int ranks = env.world > 1 ? env.world : std::max(a.nproc, 1);
  if (ranks > 1) {
    std::string source = a.nproc > 1 ? "--nproc" : env.launcher;
    if (!check_layout_for_ranks(res, r, a.recipe.path, ranks, source)) return 1;
    // Ranks on one machine share its cores: "every core" means this rank's share of them.
    int local = env.world > 1 ? env.local_world : ranks;
    if (r.train.threads == 0) r.train.threads = std::max(1, mi.cores / local);
  }
  if (a.nproc > 1 && env.world == 1)
    return launch_local_ranks(a.nproc, a.out.empty() ? default_run_dir(r.name) : a.out, a.out.empty());
  std::vector<std::string> notes;
  if (a.rehearse) {
    // WB_DEFAULT_DATA moves the default mix (tests build a small one elsewhere).
    const char* default_data = std::getenv("WB_DEFAULT_DATA");
    auto plan = rehearsal_scale(r, a.steps > 0 ? a.steps : 20, default_data ? default_data : "data/default");
    r = plan.scaled;
    notes = plan.notes;
    r.model.vocab = int(tokenizer_load(r.data.tokenizer).vocab_size());
    if (lead) std::printf("rehearsal of %s:\n", a.recipe.path.c_str());
    for (auto& n : notes)
      if (lead) std::printf("  - %s\n", n.c_str());
  } else if (refuse_if_too_big(a.recipe.path, r, mi)) {
    return 1;
  }

  std::unique_ptr<fabric_collective> collective;
  if (env.world > 1) {
    fabric_options fo = fabric_options_from_env();
    fo.provider = fabric_provider_for(r, env);
    fo.master_addr = env.master_addr;
    fo.master_port = env.master_port;
    collective = std::make_unique<fabric_collective>(env.rank, env.world, fo);
  }
  std::string dir = a.out.empty() ? default_run_dir(r.name) : a.out;
  if (collective && a.out.empty()) {  // srun / torchrun without --out: rank 0's timestamp names the run
    std::vector<char> name(4096, 0);
    dir.copy(name.data(), name.size() - 1);
    collective->broadcast(name.data(), name.size(), 0);
    dir = name.data();
  }
  fs::create_directories(dir);
  nlohmann::ordered_json meta;
  meta["recipe_hash"] = res.hash;
  meta["files"] = res.files;
  meta["recipe"] = recipe_to_json(res.tree);
  if (a.rehearse) meta["rehearsal"] = notes;
  if (lead) {
    atomic_write_file((fs::path(dir) / "recipe.json").string(), meta.dump(2) + "\n");
    std::printf("%srun %s (recipe_hash %s) -> %s%s\n", log_prefix.c_str(), r.name.c_str(), res.hash.substr(0, 16).c_str(),
                dir.c_str(), collective ? fmt::format(" on {} ranks over {}", env.world, collective->provider()).c_str() : "");
    std::fflush(stdout);
  }

  cpu_backend backend(r.train.threads);
  bool tty = isatty(2);
  run_options ro;
  ro.run_dir = dir;
  ro.steps = a.rehearse ? 0 : a.steps;
  ro.resume = a.resume;
  ro.recipe_json = recipe_to_json(res.tree);
  ro.recipe_hash = res.hash;
  ro.stop = &stop_requested;
  ro.ranks = collective.get();
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  run_observer obs;
  obs.on_step = [&](const step_report& s) { draw(s, tty, r.train.log_every); };
  obs.on_eval = [&](const eval_report& e) {
    std::string by;
    for (auto& [name, loss] : e.by_source) by += fmt::format(" {} {:.4f}", name, loss);
    std::fprintf(stderr, "%s%seval at step %lld: loss %.4f (%s )\n", tty ? "\r\033[K" : "", log_prefix.c_str(), e.step,
                 e.loss, by.c_str());
  };
  run_summary s = train_run(r, backend, ro, obs);
  if (!lead) return 0;  // rank 0 reports for the job
  if (s.resumed_from) std::printf("resumed from step %lld\n", s.resumed_from);
  if (!s.init.empty()) std::printf("initialised with %s\n", s.init.c_str());
  if (s.stopped) {
    std::printf("stopped by %s after step %lld; checkpoint %s written; continue with: wb run %s --out %s --resume auto%s\n",
                strsignal(stop_signal), s.steps, s.last_checkpoint.c_str(), a.recipe.path.c_str(), dir.c_str(),
                a.nproc > 1 ? fmt::format(" --nproc {}", a.nproc).c_str() : "");
    return 0;
  }
  std::printf("trained to step %lld in %s: loss %.4f -> %.4f", s.steps, duration(s.seconds).c_str(), s.first_loss,
              s.last_loss);
  if (!s.evals.empty()) std::printf(", eval loss %.4f", s.evals.back().loss);
  double blocked = 0;
  for (double b : s.checkpoint_blocked_s) blocked = std::max(blocked, b);
  std::printf("; %lld parameters; metrics in %s/metrics.jsonl; %zu checkpoints (training blocked at most %.3f s per "
              "save), last %s\n", s.params, dir.c_str(), s.checkpoint_blocked_s.size(), blocked, s.last_checkpoint.c_str());
  if (a.rehearse)
    std::printf("rehearsal passed: recipe valid, tokenizer and %zu data sources loaded, %s model built and trained "
                "%lld steps with the recipe's optimizer and schedule%s\n",
                r.data.sources.size(), r.model.family.c_str(), s.steps,
                s.last_loss < s.first_loss ? ", loss falling" : ", but the loss did not fall");
  return 0;
}

}  // namespace

command add_run_command(CLI::App& app) {
  auto* sub = app.add_subcommand("run", "Train a recipe on this machine (or rehearse a cluster recipe at small scale)");
  auto a = std::make_shared<run_args>();
  a->recipe.add_to(sub);
  sub->add_option("--steps", a->steps, "Optimizer steps (default: the recipe's train.steps; 20 with --rehearse)");
  sub->add_option("--out", a->out, "Run directory (default runs/NAME-TIMESTAMP)");
  sub->add_option("--launcher", a->launcher, "local: train here; slurm: write an sbatch script for the recipe's cluster and submit it")
      ->check(CLI::IsMember({"local", "slurm"}));
  sub->add_flag("--dry-run", a->dry_run, "With --launcher slurm: print the sbatch script, submit nothing");
  sub->add_flag("--rehearse", a->rehearse, "Run the recipe scaled down to fit this machine, for a few steps");
  sub->add_option("--threads", a->threads, "CPU threads (default: train.threads, 0 = every core)");
  sub->add_option("--nproc", a->nproc,
                  "Start N rank processes on this machine, data parallel (parallel.dp must be N); under srun or "
                  "torchrun the ranks come from their environment instead")
      ->check(CLI::Range(1, 1024));
  sub->add_option("--resume", a->resume,
                  "auto (newest complete checkpoint of the run directory), never, or a checkpoint path "
                  "(default: the recipe's checkpoint.resume)");
  return {sub, [a] {
    try {
      return run(*a);
    } catch (std::exception& e) {
      std::string msg = e.what();
      std::fprintf(stderr, "\n%swb run: %s\n", log_prefix.c_str(), msg.c_str());
      if (msg.find("data/default") != std::string::npos)
        std::fprintf(stderr, "  hint: build the default data mix with scripts/make-default-data\n");
      return 1;
    }
  }};
}

}  // namespace wb
