// ZeRO-3 on thread-ranks (local_collective_group): the gather ring gives every rank every part for
// parts of any size; two ranks that each keep half the parameters (each layer gathered for its
// forward and again for its backward, two microbatches accumulated) follow the single-process run
// within fp32 rounding, with and without full recomputation, for Llama and GPT; the parameter
// arena is gone, and each rank's measured parameter peak is its shard, the outer parameters and
// one layer, its whole step's peak lower than ZeRO-2's by the bytes that saves. Processes, tp and
// checkpoints: tests/cli/run_zero_test.cpp.
#include <catch2/catch.hpp>

#include "tests/support/zero_ranks.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("all_gather_parts gives each of three ranks every part, parts of any size", "[parallel][zero]") {
  for (std::vector<chunk> parts : {std::vector<chunk>{{0, 2}, {2, 0}, {2, 5}}, std::vector<chunk>{{0, 0}, {0, 7}, {7, 0}},
                                   std::vector<chunk>{{0, 3}, {3, 2}, {5, 2}}}) {
    local_collective_group g(3);
    std::vector<std::vector<float>> data(3, std::vector<float>(7, -1.0f));
    auto errors = wb::test::run_on_thread_ranks(g, [&](int r) {
      const chunk& mine = parts[size_t(r)];
      for (size_t i = mine.begin; i < mine.begin + mine.size; ++i) data[size_t(r)][i] = float(100 * r + int(i));
      all_gather_parts(g.member(r), data[size_t(r)].data(), parts);
    });
    for (int r = 0; r < 3; ++r) {
      REQUIRE(errors[size_t(r)] == "");
      for (int owner = 0; owner < 3; ++owner)
        for (size_t i = parts[size_t(owner)].begin; i < parts[size_t(owner)].begin + parts[size_t(owner)].size; ++i)
          CHECK(data[size_t(r)][i] == float(100 * owner + int(i)));
    }
  }
}

TEST_CASE("two ZeRO-3 ranks with two microbatches each follow the single-process run", "[parallel][train][zero]") {
  check_zero_follows_one_process(3, recompute_mode::none);
}

TEST_CASE("ZeRO-3 under full recomputation: the rerun block reads the parameters gathered for backward",
          "[parallel][train][zero]") {
  check_zero_follows_one_process(3, recompute_mode::full);
}

TEST_CASE("ZeRO-3 trains GPT (biases, position embedding outside the layers) with the single-process losses",
          "[parallel][train][zero]") {
  check_zero_follows_one_process(3, recompute_mode::none, "gpt");
}

TEST_CASE("a ZeRO-3 trainer frees the parameter arena and keeps its shard and the outer parameters",
          "[parallel][train][zero]") {
  cpu_backend be(1);
  model m(zero_test_model(), 7);
  const size_t P = size_t(m.num_params());
  const size_t outer = 32 * 32 + 32;  // the tied embedding (V x C) and the final norm (C)
  size_t before = memory().category(mem_category::parameters).live;
  local_collective_group g(2);
  trainer_options o = zero_test_options();
  o.data_parallel = &g.member(1);  // constructing a trainer makes no collective call
  o.zero = 3;
  trainer tr(m, be, o);
  size_t after = memory().category(mem_category::parameters).live;
  REQUIRE(tr.zero3() != nullptr);
  CHECK_FALSE(m.param_arena().defined());
  CHECK(m.num_params() == int64_t(P));
  CHECK_FALSE(m.param("layers.0.attn.wq")->data.has_storage());  // gathered only while its layer runs
  CHECK(m.param("norm")->data.has_storage());                     // outer: gathered for the run
  CHECK(before - after == (P - chunk_range(P, 2, 1).size - outer) * sizeof(float));
  std::printf("parameters live per rank: arena %zu bytes, ZeRO-3 dp=2 shard %zu + outer %zu bytes\n", P * 4,
              chunk_range(P, 2, 1).size * 4, outer * 4);
}

TEST_CASE("a ZeRO-3 rank's parameter peak is its shard, the outer parameters and one layer; its step peak drops "
          "against ZeRO-2 by the rest", "[parallel][train][zero]") {
  auto z2 = train_zero_ranks(2, 2, recompute_mode::none), z3 = train_zero_ranks(2, 3, recompute_mode::none);
  model m(zero_test_model(), 7);
  const double P = double(m.num_params()), outer = 32 * 32 + 32;
  const double layer = 2 * 32 + 32 * 32 * 2 + 16 * 32 * 2 + 64 * 32 * 3;  // 2 norms, wq, wo, wk, wv, w1, w3, w2
  for (int r = 0; r < 2; ++r) {
    REQUIRE(z2[size_t(r)].error == "");
    REQUIRE(z3[size_t(r)].error == "");
    const double shard = double(chunk_range(size_t(P), 2, r).size);
    const double saved = 4 * (P - shard - outer - layer);
    std::printf("rank %d step peak: ZeRO-2 %zu bytes (parameters %zu), ZeRO-3 %zu bytes (parameters %zu); drop %.0f, "
                "parameter bytes saved %.0f\n", r, z2[size_t(r)].total.peak, z2[size_t(r)].parameters.peak,
                z3[size_t(r)].total.peak, z3[size_t(r)].parameters.peak,
                double(z2[size_t(r)].total.peak) - double(z3[size_t(r)].total.peak), saved);
    CHECK(double(z2[size_t(r)].parameters.peak) == 4 * P);
    CHECK(double(z3[size_t(r)].parameters.peak) == 4 * (shard + outer + layer));
    CHECK(double(z2[size_t(r)].total.peak) - double(z3[size_t(r)].total.peak) == Approx(saved).epsilon(0.05));
  }
}

TEST_CASE("ZeRO-3 prefetching the next layer on the comm thread gives the synchronous run's losses and parameters, "
          "bit for bit, holding two layers", "[parallel][train][zero][overlap]") {
  // The same gathers and reductions in the same order, only on another thread and a layer ahead.
  model m(zero_test_model(), 7);
  const double P = double(m.num_params()), outer = 32 * 32 + 32;
  const double layer = 2 * 32 + 32 * 32 * 2 + 16 * 32 * 2 + 64 * 32 * 3;
  for (recompute_mode rc : {recompute_mode::none, recompute_mode::full}) {
    auto sync = train_zero_ranks(2, 3, rc), ahead = train_zero_ranks(2, 3, rc, "llama", true);
    for (int r = 0; r < 2; ++r) {
      INFO("rank " << r << (rc == recompute_mode::full ? ", full recomputation" : ""));
      REQUIRE(sync[size_t(r)].error == "");
      REQUIRE(ahead[size_t(r)].error == "");
      CHECK(ahead[size_t(r)].losses == sync[size_t(r)].losses);
      CHECK(ahead[size_t(r)].norms == sync[size_t(r)].norms);
      CHECK(ahead[size_t(r)].params == sync[size_t(r)].params);
      const double shard = double(chunk_range(size_t(P), 2, r).size);
      CHECK(double(sync[size_t(r)].parameters.peak) == 4 * (shard + outer + layer));
      CHECK(double(ahead[size_t(r)].parameters.peak) == 4 * (shard + outer + 2 * layer));
    }
  }
}

TEST_CASE("the trainer refuses a ZeRO stage that does not exist", "[parallel][train][zero]") {
  cpu_backend be(1);
  model m(zero_test_model(), 7);
  local_collective_group g(2);
  trainer_options o = zero_test_options();
  o.data_parallel = &g.member(0);
  o.zero = 4;
  CHECK_THROWS_WITH(trainer(m, be, o), "ZeRO stage 4 does not exist (stages 0 to 3 do)");
}
