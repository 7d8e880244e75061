// RoPE: the Hugging Face rotate-half formula written out independently, norm preservation, and
// finite-difference gradients.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/backends/cpu/grad_check.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("rope matches transformers' apply_rotary_pos_emb (rotate_half) written out", "[cpu][rope]") {
  cpu_backend be(2);
  // T = 300 spans several of the tables' 64-position spans (angle addition from each span's start)
  int64_t B = 1, T = GENERATE(5, 300), NH = 2, HD = 8;
  double theta = 500000;
  tensor x = random_tensor({B, T, NH, HD}, 1);
  tape tp(be, false);
  var y = rope(tp, make_var(x), theta);
  double max_diff = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t h = 0; h < NH; ++h)
      for (int64_t d = 0; d < HD; ++d) {
        // q_embed = q * cos + rotate_half(q) * sin; cos = cat(freqs, freqs); rotate_half = cat(-x2, x1)
        double inv_freq = 1.0 / std::pow(theta, double(2 * (d % (HD / 2))) / HD);
        const float* xr = x.f32() + (t * NH + h) * HD;
        double rot = d < HD / 2 ? -xr[d + HD / 2] : xr[d - HD / 2];
        double ref = xr[d] * std::cos(t * inv_freq) + rot * std::sin(t * inv_freq);
        max_diff = std::max(max_diff, std::abs(ref - y->data.f32()[(t * NH + h) * HD + d]));
      }
  CHECK(max_diff < 1e-5);
}

TEST_CASE("rope leaves position 0 unchanged and preserves each head's norm", "[cpu][rope]") {
  cpu_backend be(2);
  tensor x = random_tensor({2, 4, 3, 6}, 2);
  tape tp(be, false);
  var y = rope(tp, make_var(x), 10000);
  for (int i = 0; i < 18; ++i) CHECK(y->data.f32()[i] == x.f32()[i]);
  double nx = 0, ny = 0;
  for (int i = 0; i < 6; ++i) {
    nx += std::pow(x.f32()[3 * 18 + i], 2);
    ny += std::pow(y->data.f32()[3 * 18 + i], 2);
  }
  CHECK(ny == Approx(nx).epsilon(1e-5));
}

TEST_CASE("rope gradients match finite differences", "[cpu][rope][grad]") {
  cpu_backend be(2);
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return rope(t, v[0], 100.0); }, {random_tensor({2, 4, 3, 6}, 3)});
  CHECK(rel[0] < 1e-4);
}
