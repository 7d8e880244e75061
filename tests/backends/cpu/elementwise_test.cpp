// add (with broadcast), mul, swiglu and gelu: values and finite-difference gradients.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/backends/cpu/grad_check.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("add broadcasts a suffix-shaped operand and its gradients match finite differences", "[cpu][add][grad]") {
  cpu_backend be(2);
  tensor a = random_tensor({2, 3, 4}, 1), b = random_tensor({3, 4}, 2);
  tape tp(be, false);
  var c = add(tp, make_var(a), make_var(b));
  CHECK(c->data.f32()[12 + 5] == a.f32()[12 + 5] + b.f32()[5]);
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return add(t, v[0], v[1]); }, {a, b});
  for (double r : rel) CHECK(r < 1e-4);
}

TEST_CASE("add rejects an operand that is not a suffix", "[cpu][add]") {
  cpu_backend be(1);
  tape tp(be);
  CHECK_THROWS_WITH(add(tp, make_var(random_tensor({2, 3}, 1)), make_var(random_tensor({2}, 2))),
                    "Invalid add: (2) is not a suffix of (2, 3)");
}

TEST_CASE("mul gradients match finite differences, also with the same input twice", "[cpu][mul][grad]") {
  cpu_backend be(2);
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return mul(t, v[0], v[1]); },
                        {random_tensor({3, 5}, 3), random_tensor({3, 5}, 4)});
  for (double r : rel) CHECK(r < 1e-4);
  auto sq = grad_check(be, [](tape& t, const std::vector<var>& v) { return mul(t, v[0], v[0]); }, {random_tensor({7}, 5)});
  CHECK(sq[0] < 5e-4);
}

TEST_CASE("swiglu is silu(a) * b and its gradients match finite differences", "[cpu][swiglu][grad]") {
  cpu_backend be(2);
  tensor a = random_tensor({4, 6}, 6, 3.0f), b = random_tensor({4, 6}, 7);
  tape tp(be, false);
  var c = swiglu(tp, make_var(a), make_var(b));
  float x = a.f32()[3];
  CHECK(c->data.f32()[3] == Approx(x / (1 + std::exp(-x)) * b.f32()[3]).epsilon(1e-6));
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return swiglu(t, v[0], v[1]); }, {a, b});
  for (double r : rel) CHECK(r < 5e-4);
}

TEST_CASE("gelu matches GPT-2's tanh formula and its gradient matches finite differences", "[cpu][gelu][grad]") {
  cpu_backend be(2);
  tensor x = random_tensor({5, 7}, 8, 3.0f);
  tape tp(be, false);
  var y = gelu(tp, make_var(x));
  double v = x.f32()[10];
  double ref = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  CHECK(y->data.f32()[10] == Approx(ref).epsilon(1e-5));
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return gelu(t, v[0]); }, {x});
  CHECK(rel[0] < 5e-4);
}
