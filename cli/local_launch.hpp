// `wb run --nproc N`: starts N copies of this very command line as the ranks of one job on this
// machine (torchrun's variables RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT set for each; `--out DIR` added so all share one run directory), forwards SIGTERM and
// SIGINT to them, and waits. Returns the first non-zero exit status of a rank, else 0.
#pragma once
#include <string>

namespace wb {

int launch_local_ranks(int nproc, const std::string& run_dir, bool add_out);

}  // namespace wb
