// The device profile's file (version 2: kernels and the collective table) and its collective
// lookup by message size. Measuring is exercised by `wb plan --calibrate` and the calibration
// benchmark; these tests use hand-set figures (tests/support/synthetic_profile.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/plan/device_profile.hpp"
#include "tests/support/synthetic_profile.hpp"

using namespace wb;
using namespace wb::test;

namespace {

std::string temp_profile_path(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / ("wb-profile-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

}  // namespace

TEST_CASE("A device profile keeps its kernels and collective table through its JSON file", "[plan][profile]") {
  device_profile p = synthetic_profile();
  add_synthetic_collectives(p);
  p.kernels["rope"] = {3.5e-9, 7.25e-9};
  std::string path = temp_profile_path("round-trip.json");
  device_profile_save(p, path);
  auto q = device_profile_load(path);
  REQUIRE(q);
  CHECK(q->version == device_profile_version);
  CHECK(q->cpu == "synthetic");
  CHECK(q->gemm.size() == 64);
  CHECK(q->kernels.size() == p.kernels.size());
  CHECK(q->kernels.at("rope").forward_s == 3.5e-9);
  CHECK(q->kernels.at("rope").backward_s == 7.25e-9);
  CHECK(q->zero_fill_bandwidth == p.zero_fill_bandwidth);
  CHECK(q->op_overhead_s == p.op_overhead_s);
  CHECK(q->optimizer_s_per_param == p.optimizer_s_per_param);
  CHECK(q->collective_ranks == 2);
  REQUIRE(q->collectives.size() == 2);
  CHECK(q->collectives[1].bytes == 1 << 20);
  CHECK(q->collectives[1].all_reduce_s == p.collectives[1].all_reduce_s);
  CHECK(q->collectives[0].reduce_scatter_s == 8e-6);
  CHECK(q->collectives[0].all_gather_s == 8e-6);
  std::filesystem::remove(path);
}

TEST_CASE("A profile written by an older wb is measured again rather than read", "[plan][profile]") {
  std::string path = temp_profile_path("old.json");
  std::ofstream(path) << R"({"version": 1, "backend": "cpu", "threads": 2, "gemm": []})";
  CHECK_FALSE(device_profile_load(path));
  std::filesystem::remove(path);
}

TEST_CASE("Collective time follows the measured table by message size", "[plan][profile]") {
  device_profile p = synthetic_profile();
  CHECK(p.collective_seconds(collective_op::all_reduce, 1 << 20) == 0);  // no table: nothing measured
  add_synthetic_collectives(p);
  SECTION("at a measured size, the measured time") {
    CHECK(p.collective_seconds(collective_op::all_reduce, 4096) == Approx(10e-6));
    CHECK(p.collective_seconds(collective_op::reduce_scatter, 1 << 20) == Approx((1 << 20) / 2e9));
  }
  SECTION("smaller than the table: its smallest message's time (latency-bound)") {
    CHECK(p.collective_seconds(collective_op::all_gather, 16) == Approx(8e-6));
  }
  SECTION("between two sizes: a straight line in log time over log bytes") {
    double mid = std::sqrt(4096.0 * (1 << 20));
    CHECK(p.collective_seconds(collective_op::all_reduce, mid) == Approx(std::sqrt(10e-6 * ((1 << 20) / 1e9))));
  }
  SECTION("beyond the table: the largest message's bandwidth") {
    CHECK(p.collective_seconds(collective_op::all_reduce, 64 << 20) == Approx((64 << 20) / 1e9));
  }
}

TEST_CASE("Attention rates are read off the measured grid by sequence, head dim and key/value group", "[plan][profile]") {
  device_profile p = synthetic_profile();
  // forward = seq x head dim x group (FLOP/s, made up), the other rates multiples of it.
  for (int T : attention_seq_grid)
    for (int HD : attention_head_dim_grid)
      for (int G : attention_kv_group_grid) {
        double f = double(T) * HD * G;
        p.attention.push_back({T, HD, G, f, 2 * f, 3 * f, 4 * f});
      }
  SECTION("at a grid point, its rates") {
    attention_point a = p.attention_at(256, 32, 4);
    CHECK(a.forward == Approx(256.0 * 32 * 4));
    CHECK(a.backward_rebuilding == Approx(4 * 256.0 * 32 * 4));
  }
  SECTION("between grid points, log-linear: a product of powers is exact") {
    CHECK(p.attention_at(362, 45, 2).forward == Approx(362.0 * 45 * 2).epsilon(1e-9));
  }
  SECTION("beyond the grid, its edge") {
    CHECK(p.attention_at(4096, 256, 8).forward_saving == Approx(2 * 1024.0 * 128 * 4));
  }
  SECTION("through the profile's file") {
    std::string path = temp_profile_path("attention.json");
    device_profile_save(p, path);
    auto q = device_profile_load(path);
    REQUIRE(q);
    CHECK(q->attention.size() == p.attention.size());
    CHECK(q->attention_at(362, 45, 2).backward == Approx(3 * 362.0 * 45 * 2).epsilon(1e-9));
    std::filesystem::remove(path);
  }
  SECTION("an incomplete grid says how to fix it") {
    p.attention.pop_back();
    CHECK_THROWS_WITH(p.attention_at(256, 64, 1), "device profile: incomplete attention grid; rerun `wb plan --calibrate`");
  }
}
