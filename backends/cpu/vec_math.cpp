// The out-of-line part of vec_math.hpp.
#include "backends/cpu/vec_math.hpp"

#include <cmath>

namespace wb::cpu {

float log_sum_exp(const float* x, int64_t n) {
  float m = lane_max(x, n), s = 0;
  constexpr int64_t chunk = 256;
  float e[chunk];
  for (int64_t j0 = 0; j0 < n; j0 += chunk) {
    int64_t len = std::min(chunk, n - j0);
    exp_shifted(x + j0, e, len, m);
    s += lane_sum(e, len);
  }
  return m + std::log(s);
}

}  // namespace wb::cpu
