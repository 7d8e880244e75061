// Who this process is in a multi-process job, read from the launcher's environment:
//   torchrun / Kubeflow PyTorchJob / `wb run --nproc`: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
//     MASTER_ADDR, MASTER_PORT;
//   Slurm (srun): SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NNODES, and rank 0's host as
//     the first name of SLURM_STEP_NODELIST (or SLURM_JOB_NODELIST) unless MASTER_ADDR is set.
// torchrun's variables win when both are present (a torchrun inside an allocation). Without either,
// the process is a job of one. Names and meanings: shared/reference/libfabric.md, "Launch environments".
#pragma once
#include <functional>
#include <optional>
#include <string>

namespace wb {

struct launch_env {
  int rank = 0, world = 1, local_rank = 0;
  int local_world = 1;               // ranks on this machine (they share its cores)
  bool one_node = true;              // every rank on this machine (shm works between them)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;           // torchrun's default
  std::string launcher = "none";     // "none", "torchrun", "slurm"
};

using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

// Throws std::invalid_argument naming the variable when one is malformed or inconsistent.
launch_env launch_env_from(const env_lookup& getenv);
launch_env launch_env_from_process();  // the real environment

// The first host of a Slurm node list: "node[03-05,9],gpu1" -> "node03".
std::string slurm_first_host(const std::string& nodelist);

}  // namespace wb
