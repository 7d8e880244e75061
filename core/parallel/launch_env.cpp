// launch_env: parsing and checking the launcher's variables.
#include "core/parallel/launch_env.hpp"

#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

namespace wb {
namespace {

int integer(const env_lookup& env, const std::string& name, int fallback, int lo) {
  auto v = env(name);
  if (!v || v->empty()) return fallback;
  char* end = nullptr;
  long l = std::strtol(v->c_str(), &end, 10);
  if (*end || l < lo || l > (1L << 30))
    throw std::invalid_argument(fmt::format("Invalid {}={}: expected an integer >= {}", name, *v, lo));
  return int(l);
}

}  // namespace

std::string slurm_first_host(const std::string& list) {
  size_t comma = list.find(','), bracket = list.find('[');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket)) return list.substr(0, comma);
  // prefix[range,...]: the first number of the first range, zero padding kept.
  std::string prefix = list.substr(0, bracket);
  size_t end = list.find_first_of("-,]", bracket + 1);
  return prefix + list.substr(bracket + 1, end - bracket - 1);
}

launch_env launch_env_from(const env_lookup& env) {
  launch_env e;
  if (env("RANK") || env("WORLD_SIZE")) {
    e.launcher = "torchrun";
    e.rank = integer(env, "RANK", 0, 0);
    e.world = integer(env, "WORLD_SIZE", 1, 1);
    e.local_rank = integer(env, "LOCAL_RANK", e.rank, 0);
    e.local_world = integer(env, "LOCAL_WORLD_SIZE", e.world, 1);
    e.one_node = e.local_world == e.world;
  } else if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    e.launcher = "slurm";
    e.rank = integer(env, "SLURM_PROCID", 0, 0);
    e.world = integer(env, "SLURM_NTASKS", 1, 1);
    e.local_rank = integer(env, "SLURM_LOCALID", 0, 0);
    int nodes_n = integer(env, "SLURM_NNODES", 1, 1);
    e.one_node = nodes_n == 1;
    e.local_world = (e.world + nodes_n - 1) / nodes_n;
    auto nodes = env("SLURM_STEP_NODELIST");
    if (!nodes) nodes = env("SLURM_JOB_NODELIST");
    if (nodes && !nodes->empty()) e.master_addr = slurm_first_host(*nodes);
    // One port per job so that two jobs sharing a node do not collide (29500 + job id mod 20000).
    if (auto job = env("SLURM_JOB_ID")) e.master_port = 29500 + integer(env, "SLURM_JOB_ID", 0, 0) % 20000;
  }
  if (auto a = env("MASTER_ADDR"); a && !a->empty()) e.master_addr = *a;
  e.master_port = integer(env, "MASTER_PORT", e.master_port, 1);
  if (e.master_port > 65535) throw std::invalid_argument(fmt::format("Invalid MASTER_PORT={}: expected 1 to 65535", e.master_port));
  if (e.rank >= e.world)
    throw std::invalid_argument(fmt::format("Invalid rank {} for a world of {} ({} variables): expected rank < world",
                                            e.rank, e.world, e.launcher == "slurm" ? "SLURM_PROCID/SLURM_NTASKS" : "RANK/WORLD_SIZE"));
  return e;
}

launch_env launch_env_from_process() {
  return launch_env_from([](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

}  // namespace wb
