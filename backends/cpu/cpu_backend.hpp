// The CPU compute backend: one reference kernel per op (files named after the op family), run
// with `threads` OpenMP threads (default: every core). Each output is written by one thread and
// reductions run in a fixed order, so results do not depend on the thread count (tested for 1 vs
// 2 on a small Llama in tests/core/model/model_test.cpp) and reruns are bit-identical.
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
