// RMSNorm and LayerNorm: normalised statistics of the output and finite-difference gradients.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/backends/cpu/grad_check.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("rmsnorm with unit weight gives rows of unit root mean square", "[cpu][rmsnorm]") {
  cpu_backend be(2);
  tensor w({8}, mem_category::temporaries);
  w.fill(1);
  tape tp(be, false);
  var y = rmsnorm(tp, make_var(random_tensor({3, 8}, 1, 5.0f)), make_var(w), 1e-6f);
  for (int n = 0; n < 3; ++n) {
    double ss = 0;
    for (int i = 0; i < 8; ++i) ss += y->data.f32()[n * 8 + i] * y->data.f32()[n * 8 + i];
    CHECK(std::sqrt(ss / 8) == Approx(1).epsilon(1e-4));
  }
}

TEST_CASE("rmsnorm gradients match finite differences", "[cpu][rmsnorm][grad]") {
  cpu_backend be(2);
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return rmsnorm(t, v[0], v[1], 1e-5f); },
                        {random_tensor({2, 3, 8}, 2), random_tensor({8}, 3)});
  for (double r : rel) CHECK(r < 5e-4);
}

TEST_CASE("layernorm rows have zero mean and unit variance before the affine part", "[cpu][layernorm]") {
  cpu_backend be(2);
  tensor w({8}, mem_category::temporaries), b = tensor::zeros({8}, mem_category::temporaries);
  w.fill(1);
  tape tp(be, false);
  var y = layernorm(tp, make_var(random_tensor({3, 8}, 4, 5.0f)), make_var(w), make_var(b), 1e-6f);
  for (int n = 0; n < 3; ++n) {
    double m = 0, v = 0;
    for (int i = 0; i < 8; ++i) m += y->data.f32()[n * 8 + i] / 8;
    for (int i = 0; i < 8; ++i) v += std::pow(y->data.f32()[n * 8 + i] - m, 2) / 8;
    CHECK(std::abs(m) < 1e-5);
    CHECK(v == Approx(1).epsilon(1e-4));
  }
}

TEST_CASE("layernorm gradients match finite differences", "[cpu][layernorm][grad]") {
  cpu_backend be(2);
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return layernorm(t, v[0], v[1], v[2], 1e-5f); },
                        {random_tensor({2, 3, 8}, 5), random_tensor({8}, 6), random_tensor({8}, 7)});
  for (double r : rel) CHECK(r < 5e-4);
}
