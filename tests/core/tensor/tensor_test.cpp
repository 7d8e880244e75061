// Tensors: alignment, views sharing storage, shape errors, bf16 conversion.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>

#include "core/tensor/tensor.hpp"

using namespace wb;

TEST_CASE("tensor buffers are 64-byte aligned", "[tensor]") {
  for (int64_t n : {1, 3, 17, 1000}) {
    tensor t({n}, mem_category::temporaries);
    CHECK(reinterpret_cast<uintptr_t>(t.raw()) % 64 == 0);
  }
}

TEST_CASE("reshape and slice are views of the same storage", "[tensor]") {
  tensor t = tensor::zeros({4, 3, 2}, mem_category::temporaries);
  tensor r = t.reshape({-1, 6});
  CHECK(r.shape() == shape_t{4, 6});
  r.f32()[7] = 5.0f;
  CHECK(t.f32()[7] == 5.0f);
  tensor s = t.slice(1, 3);
  CHECK(s.shape() == shape_t{2, 3, 2});
  CHECK(s.f32()[1] == 5.0f);  // row 1 starts at element 6
  CHECK(s.f32() == t.f32() + 6);
}

TEST_CASE("bad reshapes and slices say what was asked", "[tensor]") {
  tensor t({4, 3}, mem_category::temporaries);
  CHECK_THROWS_WITH(t.reshape({5, 2}), "Invalid reshape of (4, 3) to (5, 2): element counts differ");
  CHECK_THROWS_WITH(t.slice(2, 5), "Invalid slice [2, 5) of (4, 3)");
  CHECK_THROWS_WITH(t.i32(), "tensor is fp32, not i32");
}

TEST_CASE("bf16 conversion rounds to nearest even and round-trips representable values", "[tensor][bf16]") {
  CHECK(bf16_to_float(bf16_from_float(1.0f)) == 1.0f);
  CHECK(bf16_to_float(bf16_from_float(-3.5f)) == -3.5f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa, 1.
  CHECK(bf16_to_float(bf16_from_float(1.0f + std::ldexp(1.0f, -8))) == 1.0f);
  CHECK(bf16_to_float(bf16_from_float(1.0f + 3 * std::ldexp(1.0f, -8))) == 1.0f + std::ldexp(1.0f, -6));
  CHECK(std::isnan(bf16_to_float(bf16_from_float(NAN))));
  tensor b({3}, mem_category::parameters, dtype::bf16);
  CHECK(b.nbytes() == 6);
}
