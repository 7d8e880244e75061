// `wb run RECIPE --launcher slurm [--dry-run]`: writes the sbatch script into the run directory
// and submits it (or only prints it). The job's ranks then run `wb run` under srun.
#include "cli/launch_slurm.hpp"

#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include <fmt/format.h>

#include "core/run/sbatch_script.hpp"
#include "core/util/atomic_file.hpp"
#include "lua/recipe_eval.hpp"

namespace fs = std::filesystem;

namespace wb {

int launch_slurm(const slurm_launch& l) {
  const recipe& r = *l.resolved->config;
  const instance_spec* inst = catalog_find(catalog_builtin(), r.cluster.instance);
  if (!inst) {
    std::fprintf(stderr, "wb run: unknown instance '%s'\n", r.cluster.instance.c_str());
    return 1;
  }
  sbatch_options o;
  o.wb_binary = fs::canonical("/proc/self/exe").string();
  o.recipe_path = fs::absolute(l.recipe_path).lexically_normal().string();
  o.overrides = l.overrides;
  o.run_dir = fs::absolute(l.run_dir).lexically_normal().string();
  o.workdir = fs::current_path().string();
  o.steps = l.steps;
  o.recipe_hash = l.resolved->hash;
  std::string script = sbatch_script(r, *inst, o);
  if (l.dry_run) {
    std::fputs(script.c_str(), stdout);
    return 0;
  }
  fs::create_directories(o.run_dir);
  std::string path = (fs::path(o.run_dir) / "sbatch.sh").string();
  atomic_write_file(path, script);
  std::string cmd = "sbatch --parsable " + shell_quote(path) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  int status = p ? pclose(p) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (status != 0) {
    std::fprintf(stderr, "wb run: sbatch failed (%s)\n  the script is %s; run wb on a Slurm login node, or use --dry-run to print it\n",
                 out.empty() ? "is sbatch installed and the cluster reachable?" : out.c_str(), path.c_str());
    return 1;
  }
  std::string job = out.substr(0, out.find(';'));
  std::printf("submitted job %s: %s\n  log: %s/slurm-%s.out\n  run: %s\n", job.c_str(), path.c_str(), o.run_dir.c_str(),
              job.c_str(), o.run_dir.c_str());
  return 0;
}

}  // namespace wb
