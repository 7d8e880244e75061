// Global gradient norm, non-finite detection and clipping.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/train/grad_norm.hpp"

using namespace wb;

TEST_CASE("the global norm covers the whole arena and clipping rescales it", "[train][clip]") {
  tensor g({4}, mem_category::gradients);
  g.f32()[0] = 3, g.f32()[1] = 0, g.f32()[2] = 4, g.f32()[3] = 0;
  grad_stats s = grad_norm(g);
  CHECK(s.finite);
  CHECK(s.norm == Approx(5.0));
  CHECK(clip_grad_norm(g, s.norm, 10.0) == 1.0);
  CHECK(g.f32()[0] == 3.0f);
  clip_grad_norm(g, s.norm, 1.0);
  CHECK(grad_norm(g).norm == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("a NaN or an Inf anywhere makes the gradient non-finite", "[train][clip]") {
  tensor g = tensor::zeros({1000}, mem_category::gradients);
  CHECK(grad_norm(g).finite);
  g.f32()[777] = NAN;
  CHECK_FALSE(grad_norm(g).finite);
  g.f32()[777] = INFINITY;
  CHECK_FALSE(grad_norm(g).finite);
}
