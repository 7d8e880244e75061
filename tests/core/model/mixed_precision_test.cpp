// bf16 mixed precision on whole models (core/model/mixed_precision.hpp): loss and gradients
// within bf16 rounding of the same fp32 model, recomputation modes still bit-identical, the saved
// activations smaller, and the bf16 weight copies charged to parameters while the step runs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>

#include "backends/cpu/cpu_backend.hpp"
#include "core/model/model.hpp"

using namespace wb;

namespace {

model_config small(const char* family, const char* precision) {
  model_config c;
  c.family = family, c.layers = 3, c.dim = 64, c.heads = 4, c.kv_heads = 2, c.ffn = 128, c.vocab = 96, c.seq_len = 64;
  c.tied_embeddings = true;
  c.precision = precision;
  return c;
}

tensor batch(int64_t B, int64_t T, int V, uint32_t seed) {
  tensor t({B, T}, mem_category::temporaries, dtype::i32);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.i32()[i] = int32_t(rng() % V);
  return t;
}

struct pass {
  float loss;
  std::vector<float> grads;
  size_t activations_peak, parameters_peak;
};

pass forward_backward(const model& m, compute_backend& be, recompute_mode rc = recompute_mode::none) {
  m.zero_grad();
  memory().reset_peaks();
  size_t act0 = memory().category(mem_category::activations).live, par0 = memory().category(mem_category::parameters).live;
  tensor tokens = batch(4, 64, m.config().vocab, 3), targets = batch(4, 64, m.config().vocab, 4);
  tape tp(be);
  var l = m.loss(tp, tokens, targets, rc);
  tp.backward(l);
  const tensor& g = m.grad_arena();
  return {l->data.f32()[0], std::vector<float>(g.f32(), g.f32() + g.numel()),
          memory().category(mem_category::activations).peak - act0, memory().category(mem_category::parameters).peak - par0};
}

}  // namespace

TEST_CASE("a bf16 model's loss and gradients are within bf16 rounding of the fp32 model's", "[model][bf16]") {
  auto family = GENERATE("llama", "gpt");
  cpu_backend be(2);
  model f32(small(family, "fp32"), 9), b16(small(family, "bf16"), 9);  // same seed: same fp32 weights
  REQUIRE(std::equal(f32.param_arena().f32(), f32.param_arena().f32() + f32.num_params(), b16.param_arena().f32()));
  pass a = forward_backward(f32, be), b = forward_backward(b16, be);
  double d2 = 0, g2 = 0;
  for (size_t i = 0; i < a.grads.size(); ++i) d2 += std::pow(double(a.grads[i]) - b.grads[i], 2), g2 += std::pow(double(a.grads[i]), 2);
  double rel_loss = std::abs(double(b.loss) - a.loss) / a.loss, rel_grad = std::sqrt(d2 / g2);
  std::printf("%s bf16 vs fp32: loss %.6f vs %.6f (relative %.3g), gradients relative %.3g\n", family, b.loss, a.loss,
              rel_loss, rel_grad);
  CHECK(rel_loss > 0);  // the GEMMs did read rounded operands
  // bf16 rounding is at most 2^-9 relative an operand; independent roundings average out in the
  // loss (measured 1e-5 and 2e-6) and the gradients stay within a percent (measured 0.25%).
  CHECK(rel_loss < 1e-4);
  CHECK(rel_grad < 1e-2);
}

TEST_CASE("bf16 keeps less in activations, and its weight copies live in parameters during the step", "[model][bf16][memory]") {
  auto family = GENERATE("llama", "gpt");
  cpu_backend be(1);
  model f32(small(family, "fp32"), 9), b16(small(family, "bf16"), 9);
  pass a = forward_backward(f32, be), b = forward_backward(b16, be);
  // the weight matrices (every parameter of rank 2; the tied embedding once, as the output head)
  size_t matrices = 0;
  for (auto& p : b16.params())
    if (p.v->data.rank() == 2 && p.name != "wpe") matrices += size_t(p.v->data.numel());
  std::printf("%s peak activations: fp32 %zu, bf16 %zu bytes; bf16 weight copies %zu bytes\n", family, a.activations_peak,
              b.activations_peak, b.parameters_peak);
  CHECK(b.activations_peak < a.activations_peak * 0.8);
  CHECK(a.parameters_peak == 0);                // fp32 runs read the master weights directly
  CHECK(b.parameters_peak == matrices * 2);     // every bf16 copy alive at once, at 2 bytes a weight
  CHECK(memory().category(mem_category::parameters).live == size_t(f32.num_params() + b16.num_params()) * 4);
}

TEST_CASE("in bf16, recompute modes still give bit-identical losses and gradients", "[model][bf16][recompute]") {
  cpu_backend be(1);
  model m(small("llama", "bf16"), 9);
  pass none = forward_backward(m, be), sel = forward_backward(m, be, recompute_mode::selective),
       full = forward_backward(m, be, recompute_mode::full);
  CHECK(sel.loss == none.loss);
  CHECK(full.loss == none.loss);
  CHECK(sel.grads == none.grads);
  CHECK(full.grads == none.grads);
}

TEST_CASE("a model with an unknown precision is refused naming the choices", "[model][bf16]") {
  CHECK_THROWS_WITH(model(small("llama", "fp16"), 1), "Invalid 'model.precision' \"fp16\": expected \"fp32\" or \"bf16\"");
}
