// `wb run RECIPE --launcher slurm`: the sbatch script for a recipe's cluster. One task per device
// (rank), requeue on preemption or node failure with `--resume auto` into the same run directory,
// SIGTERM to every rank two minutes before the time limit (wb saves and exits 0 on SIGTERM), and
// the libfabric provider from cluster.fabric. Slurm's own launcher (srun) starts the ranks, as on
// ParallelCluster and SageMaker HyperPod; wb takes rank and world size from Slurm's environment.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/catalog/instance.hpp"
#include "core/recipe/recipe.hpp"

namespace wb {

struct sbatch_options {
  std::string wb_binary;                 // absolute path of the wb executable on the cluster
  std::string recipe_path;               // as given; made absolute by the caller
  std::vector<std::string> overrides;
  std::string run_dir;                   // absolute: every requeue writes and resumes here
  std::string workdir;                   // where the job starts (relative recipe paths resolve here)
  long long steps = 0;                   // 0: the recipe's train.steps
  std::string recipe_hash;
};

std::string sbatch_script(const recipe& r, const instance_spec& inst, const sbatch_options& o);

// Quotes a word for a POSIX shell.
std::string shell_quote(const std::string& word);

}  // namespace wb
