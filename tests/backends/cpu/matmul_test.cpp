// matmul: values against a naive triple loop, gradients against finite differences, for every
// transpose combination, a shared 2-D right operand and a batched one.
#include <catch2/catch.hpp>

#include "tests/backends/cpu/grad_check.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("matmul matches a naive product for every transpose combination", "[cpu][matmul]") {
  cpu_backend be(2);
  bool ta = GENERATE(false, true), tb = GENERATE(false, true);
  int64_t M = 5, K = 7, N = 3;
  tensor a = random_tensor(ta ? shape_t{K, M} : shape_t{M, K}, 1), b = random_tensor(tb ? shape_t{N, K} : shape_t{K, N}, 2);
  tape tp(be, false);
  var c = matmul(tp, make_var(a), make_var(b), ta, tb);
  REQUIRE(c->data.shape() == shape_t{M, N});
  double max_diff = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += double(ta ? a.f32()[k * M + i] : a.f32()[i * K + k]) * double(tb ? b.f32()[j * K + k] : b.f32()[k * N + j]);
      max_diff = std::max(max_diff, std::abs(s - c->data.f32()[i * N + j]));
    }
  CHECK(max_diff < 1e-5);
}

TEST_CASE("matmul gradients match finite differences", "[cpu][matmul][grad]") {
  cpu_backend be(2);
  bool ta = GENERATE(false, true), tb = GENERATE(false, true);
  SECTION("2-D") {
    auto rel = grad_check(be, [&](tape& t, const std::vector<var>& v) { return matmul(t, v[0], v[1], ta, tb); },
                          {random_tensor(ta ? shape_t{4, 3} : shape_t{3, 4}, 3), random_tensor(tb ? shape_t{5, 4} : shape_t{4, 5}, 4)});
    for (double r : rel) CHECK(r < 1e-4);
  }
  SECTION("batched left, shared right") {
    auto rel = grad_check(be, [&](tape& t, const std::vector<var>& v) { return matmul(t, v[0], v[1], ta, tb); },
                          {random_tensor(ta ? shape_t{2, 4, 3} : shape_t{2, 3, 4}, 5), random_tensor(tb ? shape_t{5, 4} : shape_t{4, 5}, 6)});
    for (double r : rel) CHECK(r < 1e-4);
  }
  SECTION("batched both") {
    auto rel = grad_check(be, [&](tape& t, const std::vector<var>& v) { return matmul(t, v[0], v[1], ta, tb); },
                          {random_tensor(ta ? shape_t{3, 4, 3} : shape_t{3, 3, 4}, 7), random_tensor(tb ? shape_t{3, 5, 4} : shape_t{3, 4, 5}, 8)});
    for (double r : rel) CHECK(r < 1e-4);
  }
}

TEST_CASE("matmul rejects mismatched inner dimensions with the shapes in the message", "[cpu][matmul]") {
  cpu_backend be(1);
  tape tp(be);
  CHECK_THROWS_WITH(matmul(tp, make_var(random_tensor({2, 3}, 1)), make_var(random_tensor({4, 5}, 2))),
                    "Invalid matmul: inner dims differ: (2, 3) x (4, 5)");
}
