// Causal grouped-query attention: values against a naive per-head loop, causality, and
// finite-difference gradients with kept and recomputed probabilities.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

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

TEST_CASE("attention with bf16 probabilities stays within bf16 rounding of fp32, kept or recomputed alike", "[cpu][attention][bf16]") {
  cpu_backend be(2);
  int64_t B = 2, T = 70, NH = 4, KVH = 2, HD = 8;  // T spans two 64-row blocks
  tensor q = random_tensor({B, T, NH, HD}, 21), k = random_tensor({B, T, KVH, HD}, 22), v = random_tensor({B, T, KVH, HD}, 23);
  tensor seed = random_tensor({B, T, NH, HD}, 24);
  struct result {
    tensor out, dq, dk, dv;
    size_t saved_bytes;
  };
  auto run = [&](bool recompute, bool bf16) {
    var qv = make_var(q.clone(mem_category::temporaries), true), kv = make_var(k.clone(mem_category::temporaries), true),
        vv = make_var(v.clone(mem_category::temporaries), true);
    size_t before = memory().category(mem_category::activations).live;
    tape tp(be);
    var o = attention(tp, qv, kv, vv, recompute, bf16);
    size_t saved = memory().category(mem_category::activations).live - before;
    tp.backward(o, seed);
    return result{o->data, qv->grad(), kv->grad(), vv->grad(), saved};
  };
  auto max_rel = [](const tensor& x, const tensor& y) {
    double d = 0, m = 0;
    for (int64_t i = 0; i < x.numel(); ++i) d = std::max(d, double(std::abs(x.f32()[i] - y.f32()[i]))), m = std::max(m, double(std::abs(y.f32()[i])));
    return d / m;
  };
  auto same = [](const tensor& x, const tensor& y) { return std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0; };
  result f32 = run(false, false), kept = run(false, true), again = run(true, true);
  double worst = std::max({max_rel(kept.out, f32.out), max_rel(kept.dq, f32.dq), max_rel(kept.dk, f32.dk), max_rel(kept.dv, f32.dv)});
  std::printf("attention bf16 probabilities: max relative difference to fp32 %.3g\n", worst);
  CHECK(worst > 0);     // the rounding happened
  CHECK(worst < 1e-2);  // bf16 keeps 8 significant bits: 2^-9 relative a probability, plus sums of them
  CHECK(same(again.out, kept.out));
  CHECK(same(again.dq, kept.dq));
  CHECK(same(again.dk, kept.dk));
  CHECK(same(again.dv, kept.dv));
  // output (fp32) + lse (fp32) + probabilities: 4 bytes each in fp32, 2 in bf16
  size_t probs = size_t(B * NH * T * T);
  CHECK(f32.saved_bytes - kept.saved_bytes == probs * 2);
}
