// launch_env: rank, world and rank 0's address from torchrun's or Slurm's variables.
#include <catch2/catch.hpp>

#include <map>

#include "core/parallel/launch_env.hpp"

using namespace wb;

namespace {

env_lookup from(std::map<std::string, std::string> vars) {
  return [vars](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST_CASE("without launcher variables the process is a job of one", "[parallel][launch]") {
  launch_env e = launch_env_from(from({}));
  CHECK(e.launcher == "none");
  CHECK(e.world == 1);
  CHECK(e.rank == 0);
}

TEST_CASE("torchrun's variables give rank, world, local rank and rank 0's address", "[parallel][launch]") {
  launch_env e = launch_env_from(from({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                                       {"MASTER_ADDR", "10.0.0.5"}, {"MASTER_PORT", "1234"}}));
  CHECK(e.launcher == "torchrun");
  CHECK(e.rank == 3);
  CHECK(e.world == 8);
  CHECK(e.local_rank == 1);
  CHECK(e.local_world == 2);
  CHECK_FALSE(e.one_node);
  CHECK(e.master_addr == "10.0.0.5");
  CHECK(e.master_port == 1234);
}

TEST_CASE("Slurm's variables give rank, world and the first node of the step as rank 0's host", "[parallel][launch]") {
  launch_env e = launch_env_from(from({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                                       {"SLURM_NNODES", "4"}, {"SLURM_STEP_NODELIST", "p5-[012-015]"}, {"SLURM_JOB_ID", "4242"}}));
  CHECK(e.launcher == "slurm");
  CHECK(e.rank == 5);
  CHECK(e.world == 8);
  CHECK(e.local_rank == 1);
  CHECK(e.local_world == 2);
  CHECK(e.master_addr == "p5-012");
  CHECK(e.master_port == 29500 + 4242);
  CHECK(slurm_first_host("a1,b2") == "a1");
  CHECK(slurm_first_host("gpu[7,9-10],cpu1") == "gpu7");
  CHECK(slurm_first_host("single") == "single");
}

TEST_CASE("torchrun's variables win over Slurm's, and a malformed one is named", "[parallel][launch]") {
  launch_env e = launch_env_from(from({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"RANK", "0"}, {"WORLD_SIZE", "4"}}));
  CHECK(e.launcher == "torchrun");
  CHECK(e.world == 4);
  CHECK_THROWS_WITH(launch_env_from(from({{"RANK", "x"}, {"WORLD_SIZE", "2"}})), "Invalid RANK=x: expected an integer >= 0");
  CHECK_THROWS_WITH(launch_env_from(from({{"RANK", "2"}, {"WORLD_SIZE", "2"}})),
                    "Invalid rank 2 for a world of 2 (RANK/WORLD_SIZE variables): expected rank < world");
}
