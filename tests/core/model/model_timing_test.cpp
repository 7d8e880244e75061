// Hidden timing of one forward+backward of the tiny Llama from wb.models (dim 256, 4 layers,
// 8 heads, 4 kv heads, ffn 688, vocab 4096, seq 256, batch 8). Not a benchmark (those live in
// bench/); run by hand: test_core_model "[timing]".
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "backends/cpu/cpu_backend.hpp"
#include "core/model/model.hpp"
#include "core/train/trainer.hpp"

using namespace wb;

namespace {
// Wraps a backend and adds up wall time per op and direction.
struct timed_backend final : compute_backend {
  compute_backend& inner;
  double fwd[op_kind_count] = {}, bwd[op_kind_count] = {};
  explicit timed_backend(compute_backend& b) : inner(b) {}
  std::string name() const override { return "timed " + inner.name(); }
  bool supports(op_kind op) const override { return inner.supports(op); }
  int threads() const override { return inner.threads(); }
  void forward(op_call& c) override {
    auto t0 = std::chrono::steady_clock::now();
    inner.forward(c);
    fwd[int(c.op)] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  void backward(const op_call& c, const tensor& dout, std::vector<tensor>& din) override {
    auto t0 = std::chrono::steady_clock::now();
    inner.backward(c, dout, din);
    bwd[int(c.op)] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
};
}  // namespace

TEST_CASE("tiny llama forward and backward time", "[.][timing]") {
  model_config c;
  c.family = "llama", c.layers = 4, c.dim = 256, c.heads = 8, c.kv_heads = 4, c.ffn = 688, c.vocab = 4096, c.seq_len = 256;
  c.tied_embeddings = true;
  const char* th = std::getenv("WB_THREADS");  // default: every core
  cpu_backend cpu(th ? std::atoi(th) : 0);
  timed_backend be(cpu);
  model m(c, 1);
  tensor tokens({8, 256}, mem_category::temporaries, dtype::i32), targets({8, 256}, mem_category::temporaries, dtype::i32);
  std::mt19937 rng(1);
  for (int i = 0; i < 8 * 256; ++i) tokens.i32()[i] = rng() % 4096, targets.i32()[i] = rng() % 4096;
  for (const char* mode : {"none", "selective", "full"}) {
    std::vector<double> fwd, all;
    size_t peak = 0;
    for (int it = 0; it < 6; ++it) {
      m.zero_grad();
      memory().reset_peaks();
      size_t base = memory().category(mem_category::activations).live;
      auto t0 = std::chrono::steady_clock::now();
      tape tp(be);
      var l = m.loss(tp, tokens, targets, recompute_from_string(mode));
      auto t1 = std::chrono::steady_clock::now();
      tp.backward(l);
      auto t2 = std::chrono::steady_clock::now();
      fwd.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      all.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
      peak = memory().category(mem_category::activations).peak - base;
    }
    for (int op = 0; op < op_kind_count; ++op)
      std::printf("  %-14s forward %7.1f ms  backward %7.1f ms (6 runs)\n", op_name(op_kind(op)), be.fwd[op], be.bwd[op]);
    std::fill(be.fwd, be.fwd + op_kind_count, 0.0);
    std::fill(be.bwd, be.bwd + op_kind_count, 0.0);
    std::sort(fwd.begin(), fwd.end());
    std::sort(all.begin(), all.end());
    std::printf("recompute %-9s threads %d: forward %.1f ms, forward+backward %.1f ms (median of 6), peak activations %.1f MiB\n",
                mode, be.threads(), fwd[3], all[3], peak / 1048576.0);
  }
  // A whole optimizer step: forward, backward, grad norm, clipping, AdamW.
  trainer_options o;
  o.optim.lr = 3e-3, o.optim.weight_decay = 0.1, o.optim.clip = 1.0;
  o.total_steps = 10, o.microbatch = 8;
  trainer tr(m, cpu, o);
  std::vector<double> steps;
  double first = 0, last = 0;
  for (int it = 0; it < 5; ++it) {
    auto t0 = std::chrono::steady_clock::now();
    step_result r = tr.step(tokens, targets);
    steps.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    (it == 0 ? first : last) = r.loss;
  }
  std::sort(steps.begin(), steps.end());
  std::printf("training step (B 8, T 256): %.1f ms median of 5, %.0f tokens/s; loss %.3f -> %.3f\n", steps[2],
              8 * 256 / steps[2] * 1000, first, last);
  CHECK(last < first);
  CHECK(m.num_params() == param_count(c));
}
