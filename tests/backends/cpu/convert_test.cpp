// to_bf16 and the bf16 operands of matmul: the vectorised rounding gives the bits of
// core's bf16_from_float (nearest even, NaN quiet), the cast's gradient is straight-through, and a
// matmul of bf16 operands is exactly the fp32 matmul of the rounded values, forward and backward.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "tests/backends/cpu/grad_check.hpp"

using namespace wb;
using namespace wb::test;

namespace {

// t rounded to bf16 and widened back: the values a bf16 operand stands for
tensor rounded(const tensor& t) {
  tensor r(t.shape(), mem_category::temporaries);
  for (int64_t i = 0; i < t.numel(); ++i) r.f32()[i] = bf16_to_float(bf16_from_float(t.f32()[i]));
  return r;
}

}  // namespace

TEST_CASE("to_bf16 gives the bits of bf16_from_float for ordinary, tie, huge and special values", "[cpu][convert]") {
  cpu_backend be(2);
  int threads = GENERATE(1, 2);
  be.set_threads(threads);
  tensor x = random_tensor({40000}, 11, 1e3f);  // above the parallel grain: both threads write
  float special[] = {0.0f, -0.0f, 1.0f, 1.00390625f /* tie: 1 + 2^-8 rounds to even (1) */, 1.01171875f /* tie up */,
                     std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                     std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max(),
                     std::numeric_limits<float>::denorm_min(), 3.0e38f /* below bf16's max: stays finite */};
  for (size_t i = 0; i < std::size(special); ++i) x.f32()[i] = special[i];
  uint32_t signalling_nan = 0x7f800001u;  // a NaN whose payload sits in the bits rounding drops
  std::memcpy(x.f32() + std::size(special), &signalling_nan, 4);
  tape tp(be, false);
  var y = to_bf16(tp, make_var(x));
  REQUIRE(y->data.type() == dtype::bf16);
  REQUIRE(y->data.shape() == x.shape());
  int64_t mismatches = 0;
  for (int64_t i = 0; i < x.numel(); ++i) mismatches += y->data.bf16()[i] != bf16_from_float(x.f32()[i]);
  CHECK(mismatches == 0);
  CHECK(y->data.bf16()[3] == 0x3f80);  // 1 + 2^-8: the tie goes to the even neighbour, 1
  CHECK(y->data.bf16()[4] == 0x3f82);  // 1 + 3 * 2^-8: the tie goes up to the even 1 + 2^-6
  CHECK(std::isnan(bf16_to_float(y->data.bf16()[7])));
  CHECK(std::isnan(bf16_to_float(y->data.bf16()[std::size(special)])));  // stays NaN, not Inf
  CHECK(std::isinf(bf16_to_float(y->data.bf16()[8])));                    // fp32's max rounds past bf16's
  CHECK(std::isfinite(bf16_to_float(y->data.bf16()[10])));
}

TEST_CASE("to_bf16 passes its gradient back unchanged and is charged to the category asked for", "[cpu][convert]") {
  cpu_backend be(1);
  tensor x = random_tensor({3, 5}, 12);
  var xv = make_var(x, true);
  size_t before = memory().category(mem_category::parameters).live;
  tape tp(be);
  var y = to_bf16(tp, xv, mem_category::parameters);
  CHECK(memory().category(mem_category::parameters).live - before == 3 * 5 * 2);
  tensor seed = random_tensor({3, 5}, 13);
  tp.backward(y, seed);
  for (int64_t i = 0; i < 15; ++i) CHECK(xv->grad().f32()[i] == seed.f32()[i]);
  CHECK_THROWS_WITH(to_bf16(tp, y), "Invalid to_bf16: x must be fp32, got bf16");
}

TEST_CASE("a matmul of bf16 operands is the fp32 matmul of the rounded values, forward and backward", "[cpu][convert][matmul]") {
  cpu_backend be(2);
  bool ta = GENERATE(false, true), tb = GENERATE(false, true);
  bool shared_b = GENERATE(true, false);
  int64_t batch = 3, M = 70, K = 33, N = 90;  // M spans two 64-row blocks
  tensor a = random_tensor(ta ? shape_t{batch, K, M} : shape_t{batch, M, K}, 14);
  shape_t bs = tb ? shape_t{N, K} : shape_t{K, N};
  if (!shared_b) bs.insert(bs.begin(), batch);
  tensor b = random_tensor(bs, 15), seed = random_tensor({batch, M, N}, 16);

  // reference: fp32 operands holding the rounded values
  var ra = make_var(rounded(a), true), rb = make_var(rounded(b), true);
  tape t1(be);
  var ref = matmul(t1, ra, rb, ta, tb);
  t1.backward(ref, seed);

  var fa = make_var(a.clone(mem_category::temporaries), true), fb = make_var(b.clone(mem_category::temporaries), true);
  tape t2(be);
  var out = matmul(t2, to_bf16(t2, fa), to_bf16(t2, fb), ta, tb);
  REQUIRE(out->data.type() == dtype::f32);
  t2.backward(out, seed);

  auto same = [](const tensor& x, const tensor& y) {
    return std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0;
  };
  CHECK(same(out->data, ref->data));
  CHECK(same(fa->grad(), ra->grad()));
  CHECK(same(fb->grad(), rb->grad()));
}

TEST_CASE("matmul rejects i32 operands naming the dtype", "[cpu][convert][matmul]") {
  cpu_backend be(1);
  tape tp(be, false);
  CHECK_THROWS_WITH(matmul(tp, make_var(ids_tensor({2, 2}, {1})), make_var(random_tensor({2, 2}, 1))),
                    "Invalid matmul: operands must be fp32 or bf16, got i32");
}
