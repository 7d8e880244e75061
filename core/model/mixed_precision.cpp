// The two casts of bf16 mixed precision; see the header for what is kept in which precision.
#include "core/model/mixed_precision.hpp"

namespace wb {

var gemm_input(tape& tp, const model& m, const var& x) { return m.bf16() ? to_bf16(tp, x) : x; }

var linear(tape& tp, const model& m, const var& x, const var& w) {
  var weight = m.bf16() ? to_bf16(tp, w, mem_category::parameters) : w;
  return matmul(tp, x, weight, false, true);
}

}  // namespace wb
