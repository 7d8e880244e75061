// The kernels' exp: accuracy against libm over the range softmax and sigmoid use, NaN passing
// through, and lane reductions independent of the buffer's alignment.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

#include "backends/cpu/vec_math.hpp"

using namespace wb::cpu;

TEST_CASE("exp_approx is within 2 ulp-ish of libm from -87 to 88", "[cpu][exp]") {
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
    double ref = std::exp(double(x));
    worst = std::max(worst, std::abs(exp_approx(x) - ref) / ref);
  }
  std::printf("exp_approx worst relative error %.3g\n", worst);
  CHECK(worst < 3e-7);
  CHECK(exp_approx(0.0f) == 1.0f);
  CHECK(std::isnan(exp_approx(NAN)));
  CHECK(exp_approx(-1000.0f) < 1e-37f);
}

TEST_CASE("lane sums and log-sum-exp do not depend on where the data sits", "[cpu][exp]") {
  std::vector<float> buf(64 + 37);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = std::sin(float(i)) * 30.0f;
  std::vector<float> shifted(buf.size() + 3);
  std::copy(buf.begin(), buf.end(), shifted.begin() + 3);
  CHECK(lane_sum(buf.data(), 101) == lane_sum(shifted.data() + 3, 101));
  CHECK(log_sum_exp(buf.data(), 101) == log_sum_exp(shifted.data() + 3, 101));
  double ref = 0;
  for (float v : buf) ref += std::exp(double(v));
  CHECK(log_sum_exp(buf.data(), 101) == Approx(std::log(ref)).epsilon(1e-6));
}

TEST_CASE("lane dot products match a double sum and do not depend on where the data sits", "[cpu][exp]") {
  std::vector<float> x(101), y(101);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i)) * 3.0f, y[i] = std::cos(float(i) * 0.7f);
  std::vector<float> shifted(x.size() + 3);
  std::copy(x.begin(), x.end(), shifted.begin() + 3);
  CHECK(lane_dot(x.data(), y.data(), 101) == lane_dot(shifted.data() + 3, y.data(), 101));
  double ref = 0;
  for (size_t i = 0; i < x.size(); ++i) ref += double(x[i]) * double(y[i]);
  CHECK(lane_dot(x.data(), y.data(), 101) == Approx(ref).epsilon(1e-5));
  CHECK(lane_dot(x.data(), y.data(), 0) == 0.0f);
}
