// Finite-difference gradient check shared by the op tests: loss = sum(out * r) for a fixed random
// r, analytical gradients from one backward pass, numerical ones from central differences in
// fp32 forward passes summed in double. Reports, per input, the relative error
// |fd - analytic|_2 / max(|fd|_2, |analytic|_2) and prints the max abs difference as llm.c does.
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "core/tensor/ops.hpp"

namespace wb::test {

inline tensor random_tensor(shape_t s, uint32_t seed, float scale = 1.0f) {
  tensor t(std::move(s), mem_category::temporaries);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(rng);
  return t;
}

inline tensor ids_tensor(shape_t s, std::vector<int32_t> values) {
  tensor t(std::move(s), mem_category::temporaries, dtype::i32);
  for (int64_t i = 0; i < t.numel(); ++i) t.i32()[i] = values[i % values.size()];
  return t;
}

using graph_fn = std::function<var(tape&, const std::vector<var>&)>;

// Relative error per fp32 input (i32 inputs get 0).
inline std::vector<double> grad_check(compute_backend& be, const graph_fn& f, const std::vector<tensor>& inputs,
                                      float eps = 1e-2f) {
  std::vector<var> vars;
  for (auto& t : inputs) vars.push_back(make_var(t.clone(mem_category::temporaries), t.type() == dtype::f32));
  tape tp(be);
  var out = f(tp, vars);
  tensor r = random_tensor(out->data.shape(), 4242);
  tp.backward(out, r);

  auto loss = [&]() {
    tape quiet(be, false);
    var o = f(quiet, vars);
    double s = 0;
    for (int64_t i = 0; i < o->data.numel(); ++i) s += double(o->data.f32()[i]) * double(r.f32()[i]);
    return s;
  };
  // Thousands of tiny forward passes: one thread (the analytic pass above used the caller's count),
  // so the check stays fast when other jobs share the cores.
  int threads = be.threads();
  be.set_threads(1);
  std::vector<double> rel;
  for (auto& v : vars) {
    if (v->data.type() != dtype::f32) {
      rel.push_back(0);
      continue;
    }
    double diff2 = 0, fd2 = 0, an2 = 0, max_diff = 0;
    float* x = v->data.f32();
    for (int64_t i = 0; i < v->data.numel(); ++i) {
      float keep = x[i];
      x[i] = keep + eps;
      double lp = loss();
      x[i] = keep - eps;
      double lm = loss();
      x[i] = keep;
      double fd = (lp - lm) / (2.0 * eps), an = v->grad().defined() ? v->grad().f32()[i] : 0.0;
      diff2 += (fd - an) * (fd - an);
      fd2 += fd * fd;
      an2 += an * an;
      max_diff = std::max(max_diff, std::abs(fd - an));
    }
    double denom = std::max(std::sqrt(std::max(fd2, an2)), 1e-12);
    rel.push_back(std::sqrt(diff2) / denom);
    std::printf("  input %zu: max |fd - analytic| %.3g, relative error %.3g\n", rel.size() - 1, max_diff, rel.back());
  }
  be.set_threads(threads);
  return rel;
}

}  // namespace wb::test
