// Softmax and the fused cross-entropy: values against direct formulas (including large logits,
// which need the stable log-sum-exp), ignored targets, and finite-difference gradients.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/backends/cpu/grad_check.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("softmax rows sum to one and its gradient matches finite differences", "[cpu][softmax][grad]") {
  cpu_backend be(2);
  tensor x = random_tensor({3, 7}, 1, 4.0f);
  tape tp(be, false);
  var y = softmax(tp, make_var(x));
  for (int n = 0; n < 3; ++n) {
    double s = 0;
    for (int j = 0; j < 7; ++j) s += y->data.f32()[n * 7 + j];
    CHECK(s == Approx(1).epsilon(1e-6));
  }
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return softmax(t, v[0]); }, {x});
  CHECK(rel[0] < 5e-4);
}

TEST_CASE("cross_entropy is the mean negative log-likelihood, stable for large logits", "[cpu][cross_entropy]") {
  cpu_backend be(2);
  tensor x = random_tensor({3, 5}, 2, 2.0f);
  x.f32()[0] = 1000.0f;  // exp(1000) overflows fp32: only a stable log-sum-exp survives it
  tensor tg = ids_tensor({3}, {0, 4, -1});
  tape tp(be, false);
  var l = cross_entropy(tp, make_var(x), make_var(tg));
  double ref = 0;
  for (int n = 0; n < 2; ++n) {
    double m = -1e30, z = 0;
    for (int j = 0; j < 5; ++j) m = std::max(m, double(x.f32()[n * 5 + j]));
    for (int j = 0; j < 5; ++j) z += std::exp(x.f32()[n * 5 + j] - m);
    ref += (m + std::log(z) - x.f32()[n * 5 + tg.i32()[n]]) / 2;
  }
  CHECK(std::isfinite(l->data.f32()[0]));
  CHECK(l->data.f32()[0] == Approx(ref).epsilon(1e-5));
}

TEST_CASE("cross_entropy gradient matches finite differences", "[cpu][cross_entropy][grad]") {
  cpu_backend be(2);
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return cross_entropy(t, v[0], v[1]); },
                        {random_tensor({4, 6}, 3, 2.0f), ids_tensor({4}, {5, -1, 0, 3})});
  CHECK(rel[0] < 5e-4);
}
