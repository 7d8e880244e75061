// The CPU compute backend: one reference kernel per op (files named after the op family), run
// with `threads` OpenMP threads (default: every core). Results do not depend on the thread count
// except through Eigen's GEMM blocking; two runs with the same count are bit-identical.
#pragma once
#include <memory>

#include "core/tensor/backend.hpp"

namespace wb {

class cpu_backend final : public compute_backend {
 public:
  explicit cpu_backend(int threads = 0);  // 0: all cores
  std::string name() const override { return "cpu"; }
  bool supports(op_kind op) const override { return true; }
  void set_threads(int threads) override;
  int threads() const override { return threads_; }
  void forward(op_call& c) override;
  void backward(const op_call& c, const tensor& dout, std::vector<tensor>& din) override;

 private:
  int threads_ = 1;
};

}  // namespace wb
