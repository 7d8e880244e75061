// ZeRO-2 on thread-ranks (local_collective_group): the bucket ring gives each rank the sum of its
// part for parts of any size; two ranks that each keep half the gradient (reduced layer by layer
// during backward, accumulated over two microbatches) follow the single-process run within fp32
// rounding, with and without full recomputation, for Llama and GPT; the model's gradient arena is
// gone and only the shard stays charged between steps. Per-rank peaks: tests/cli/run_zero_test.cpp.
#include <catch2/catch.hpp>

#include "tests/support/zero_ranks.hpp"
#include "core/parallel/zero2.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("reduce_scatter_parts gives each of three ranks the sum of its part, parts of any size", "[parallel][zero]") {
  for (std::vector<chunk> parts : {std::vector<chunk>{{0, 2}, {2, 0}, {2, 5}}, std::vector<chunk>{{0, 0}, {0, 7}, {7, 0}},
                                   std::vector<chunk>{{0, 3}, {3, 2}, {5, 2}}}) {
    local_collective_group g(3);
    std::vector<std::vector<float>> data(3, std::vector<float>(7));
    auto errors = wb::test::run_on_thread_ranks(g, [&](int r) {
      for (int i = 0; i < 7; ++i) data[size_t(r)][size_t(i)] = float((r + 1) * 10 + i);
      reduce_scatter_parts(g.member(r), data[size_t(r)].data(), parts);
    });
    for (int r = 0; r < 3; ++r) {
      REQUIRE(errors[size_t(r)] == "");
      const chunk& p = parts[size_t(r)];
      for (size_t i = p.begin; i < p.begin + p.size; ++i)
        CHECK(data[size_t(r)][i] == float(60 + 3 * int(i)));  // (10 + 20 + 30) + 3i
    }
  }
}

TEST_CASE("two ZeRO-2 ranks with two microbatches each follow the single-process run", "[parallel][train][zero]") {
  check_zero_follows_one_process(2, recompute_mode::none);
}

TEST_CASE("ZeRO-2 under full recomputation: each layer's bucket is reduced after its rerun block", "[parallel][train][zero]") {
  check_zero_follows_one_process(2, recompute_mode::full);
}

TEST_CASE("ZeRO-2 trains GPT (biases, position embedding outside the layers) with the single-process losses",
          "[parallel][train][zero]") {
  check_zero_follows_one_process(2, recompute_mode::none, "gpt");
}

TEST_CASE("a ZeRO-2 trainer frees the model's gradient arena and keeps one shard of the gradient", "[parallel][train][zero]") {
  cpu_backend be(1);
  model m(zero_test_model(), 7);
  const size_t P = size_t(m.num_params());
  size_t before = memory().category(mem_category::gradients).live;
  local_collective_group g(2);
  trainer_options o = zero_test_options();
  o.data_parallel = &g.member(1);  // constructing a trainer makes no collective call
  o.zero = 2;
  trainer tr(m, be, o);
  size_t after = memory().category(mem_category::gradients).live;
  CHECK_FALSE(m.grad_arena().defined());
  CHECK_FALSE(m.params()[0].v->grad().defined());  // bound only while backward is in its bucket
  CHECK(before - after == (P - chunk_range(P, 2, 1).size) * sizeof(float));  // the arena P out, the shard in
  std::printf("gradients live per rank: arena %zu bytes, ZeRO-2 dp=2 shard %zu bytes\n", P * 4, chunk_range(P, 2, 1).size * 4);
}
