// Failure detection of fabric_collective, for real: one rank of a job that is all-reducing in a loop
// is killed (SIGKILL) or stopped (SIGSTOP); every other rank must exit with an error that names it,
// within the timeout (WB_FABRIC_TIMEOUT, 3 s here) plus a margin for relaying and a loaded machine.
#include <catch2/catch.hpp>

#include <csignal>

#include <fmt/format.h>

#include "tests/backends/fabric/rank_processes.hpp"

using namespace wb;
using wb::test::rank_processes;

namespace {

constexpr double timeout_s = 3;
// Detection (timeout_s for a silent rank, at once for a closed socket) + two heartbeat intervals +
// scheduling on a shared 2-core machine.
constexpr double allowed_s = timeout_s + 5;

void check_failure_is_reported(int world, const std::string& provider, int victim, int signal) {
  rank_processes ranks(world, test::loopback_options(provider, timeout_s), [](fabric_collective& c) {
    std::vector<float> v(1 << 16, 1.0f);
    c.all_reduce_sum(v.data(), v.size());
    rank_processes::signal_ready();
    for (int i = 0; i < 1000000; ++i) c.all_reduce_sum(v.data(), v.size());  // until a peer fails
  });
  REQUIRE(ranks.wait_ready(world, 60));
  double hit_at = ranks.seconds();
  ::kill(ranks.pid(victim), signal);
  std::vector<int> survivors;
  for (int r = 0; r < world; ++r)
    if (r != victim) survivors.push_back(r);
  auto out = ranks.wait(survivors, 60);
  for (int r : survivors) {
    const auto& o = out[size_t(r)];
    INFO(fmt::format("rank {} (victim {}, {} ranks over {}): exit {}, after {:.2f} s: {}", r, victim, world, provider,
                     o.exit_code, o.exited_at - hit_at, o.message));
    CHECK(o.exit_code == 1);
    CHECK_THAT(o.message, Catch::Contains(fmt::format("rank {} ", victim)));
    CHECK(o.exited_at - hit_at < allowed_s);
  }
}

}  // namespace

TEST_CASE("when a rank is killed with SIGKILL every other rank fails naming it", "[fabric][failure]") {
  SECTION("4 ranks over shm, rank 2 killed") { check_failure_is_reported(4, "shm", 2, SIGKILL); }
  SECTION("2 ranks over tcp, rank 0 killed") { check_failure_is_reported(2, "tcp", 0, SIGKILL); }
}

TEST_CASE("when a rank is stopped with SIGSTOP every other rank fails naming it within the timeout", "[fabric][failure]") {
  SECTION("4 ranks over tcp, rank 1 stopped") { check_failure_is_reported(4, "tcp", 1, SIGSTOP); }
  SECTION("2 ranks over shm, rank 0 stopped") { check_failure_is_reported(2, "shm", 0, SIGSTOP); }
}
