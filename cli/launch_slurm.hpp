// Submitting a recipe's run to Slurm (see core/run/sbatch_script.hpp for the script).
#pragma once
#include <string>
#include <vector>

#include "core/recipe/resolve.hpp"

namespace wb {

struct slurm_launch {
  const resolved_recipe* resolved = nullptr;
  std::string recipe_path;
  std::vector<std::string> overrides;
  std::string run_dir;
  long long steps = 0;
  bool dry_run = false;
};

// Prints the script (dry run) or writes RUN_DIR/sbatch.sh and submits it; the exit status.
int launch_slurm(const slurm_launch& l);

}  // namespace wb
