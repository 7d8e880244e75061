// Causal grouped-query attention: values against a naive per-head loop, causality, and
// finite-difference gradients with kept and recomputed probabilities.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/backends/cpu/grad_check.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("attention matches a naive causal GQA loop", "[cpu][attention]") {
  cpu_backend be(2);
  int64_t B = 2, T = 5, NH = 4, KVH = 2, HD = 3;
  tensor q = random_tensor({B, T, NH, HD}, 1), k = random_tensor({B, T, KVH, HD}, 2), v = random_tensor({B, T, KVH, HD}, 3);
  tape tp(be, false);
  var o = attention(tp, make_var(q), make_var(k), make_var(v));
  double max_diff = 0;
  auto at = [&](const tensor& x, int64_t b, int64_t t, int64_t h, int64_t d) {
    return double(x.f32()[((b * T + t) * x.dim(2) + h) * HD + d]);
  };
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t i = 0; i < T; ++i) {
        int64_t kh = h / (NH / KVH);
        std::vector<double> s(i + 1);
        double m = -1e30, z = 0;
        for (int64_t j = 0; j <= i; ++j) {
          for (int64_t d = 0; d < HD; ++d) s[j] += at(q, b, i, h, d) * at(k, b, j, kh, d) / std::sqrt(double(HD));
          m = std::max(m, s[j]);
        }
        for (auto& x : s) z += std::exp(x - m);
        for (int64_t d = 0; d < HD; ++d) {
          double ref = 0;
          for (int64_t j = 0; j <= i; ++j) ref += std::exp(s[j] - m) / z * at(v, b, j, kh, d);
          max_diff = std::max(max_diff, std::abs(ref - o->data.f32()[((b * T + i) * NH + h) * HD + d]));
        }
      }
  std::printf("attention max diff vs naive: %.3g\n", max_diff);
  CHECK(max_diff < 1e-5);
}

TEST_CASE("attention output at a position does not depend on later positions", "[cpu][attention]") {
  cpu_backend be(2);
  tensor q = random_tensor({1, 4, 2, 4}, 4), k = random_tensor({1, 4, 1, 4}, 5), v = random_tensor({1, 4, 1, 4}, 6);
  tape tp(be, false);
  var o1 = attention(tp, make_var(q), make_var(k), make_var(v));
  k.f32()[3 * 4] += 1.0f;
  v.f32()[3 * 4] += 1.0f;
  var o2 = attention(tp, make_var(q), make_var(k), make_var(v));
  for (int i = 0; i < 3 * 2 * 4; ++i) CHECK(o1->data.f32()[i] == o2->data.f32()[i]);
  CHECK(o1->data.f32()[3 * 8] != o2->data.f32()[3 * 8]);
}

TEST_CASE("attention gradients match finite differences", "[cpu][attention][grad]") {
  cpu_backend be(2);
  bool recompute = GENERATE(false, true);
  int64_t kvh = GENERATE(1, 2, 4);
  auto rel = grad_check(be, [&](tape& t, const std::vector<var>& v) { return attention(t, v[0], v[1], v[2], recompute); },
                        {random_tensor({2, 5, 4, 4}, 7), random_tensor({2, 5, kvh, 4}, 8), random_tensor({2, 5, kvh, 4}, 9)});
  for (double r : rel) CHECK(r < 5e-4);
}
