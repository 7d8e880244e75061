// Whole-model checks on tiny configs: finite-difference gradients of the loss for every
// parameter (both families, tied and untied), recomputation modes giving bit-identical losses
// and gradients, and peak activation memory dropping with recomputation.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>

#include "backends/cpu/cpu_backend.hpp"
#include "core/model/model.hpp"

using namespace wb;

namespace {

model_config tiny(const char* family, bool tied) {
  model_config c;
  c.family = family, c.layers = 2, c.dim = 8, c.heads = 2, c.kv_heads = 1, c.ffn = 12, c.vocab = 11, c.seq_len = 6;
  c.tied_embeddings = tied;
  return c;
}

tensor batch(int64_t B, int64_t T, int V, uint32_t seed) {
  tensor t({B, T}, mem_category::temporaries, dtype::i32);
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < t.numel(); ++i) t.i32()[i] = int32_t(rng() % V);
  return t;
}

}  // namespace

TEST_CASE("whole-model gradients match finite differences for every parameter", "[model][grad]") {
  auto family = GENERATE("llama", "gpt");
  bool tied = GENERATE(false, true);
  INFO(family << (tied ? " tied" : " untied"));
  cpu_backend be(1);
  model_config c = tiny(family, tied);
  model m(c, 3);
  // Larger weights than the 0.02 init so every path carries a gradient well above fp32 noise.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (auto& p : m.params())
    for (int64_t i = 0; i < p.v->data.numel(); ++i) p.v->data.f32()[i] += u(rng);
  tensor tokens = batch(2, 5, c.vocab, 1), targets = batch(2, 5, c.vocab, 2);
  m.zero_grad();
  {
    tape tp(be);
    tp.backward(m.loss(tp, tokens, targets));
  }
  auto loss = [&] {
    tape quiet(be, false);
    return double(m.loss(quiet, tokens, targets)->data.f32()[0]);
  };
  const float eps = 3e-3f;  // central differences: truncation ~eps^2, rounding ~1/eps
  double worst = 0, all_d2 = 0, all_a2 = 0;
  for (auto& p : m.params()) {
    double d2 = 0, f2 = 0, a2 = 0;
    float* x = p.v->data.f32();
    for (int64_t i = 0; i < p.v->data.numel(); ++i) {
      float keep = x[i];
      x[i] = keep + eps;
      double lp = loss();
      x[i] = keep - eps;
      double lm = loss();
      x[i] = keep;
      double fd = (lp - lm) / (2 * eps), an = p.v->grad().f32()[i];
      d2 += (fd - an) * (fd - an), f2 += fd * fd, a2 += an * an;
    }
    all_d2 += d2, all_a2 += a2;
    double rel = std::sqrt(d2) / std::max(std::sqrt(std::max(f2, a2)), 1e-12);
    INFO(p.name << " relative error " << rel << " |grad| " << std::sqrt(a2));
    if (p.name.find("attn.bk") != std::string::npos) {
      // A key bias adds q.b to every score of a row, which softmax ignores: its true gradient is 0.
      CHECK(std::sqrt(a2) < 1e-6);
      CHECK(std::sqrt(f2) < 1e-3);
      continue;
    }
    worst = std::max(worst, rel);
    // Per tensor: 1% relative, plus an absolute floor for the fp32 rounding of the loss, about
    // 2^-23 * |loss| / (2 eps) = 5e-5 a coordinate, which dominates tensors with tiny gradients.
    double floor = 1e-4 * std::sqrt(double(p.v->data.numel()));
    CHECK(std::sqrt(d2) < 1e-2 * std::sqrt(std::max(f2, a2)) + floor);
    CHECK(a2 > 0);
  }
  double global = std::sqrt(all_d2 / all_a2);
  std::printf("%s %s: worst parameter relative error %.3g, over all parameters %.3g\n", family, tied ? "tied" : "untied", worst, global);
  CHECK(global < 1e-3);
}

TEST_CASE("recompute modes give bit-identical losses and gradients and lower peak activations", "[model][recompute]") {
  auto family = GENERATE("llama", "gpt");
  cpu_backend be(1);  // tiny sizes: threads only add overhead here (the op tests cover them)
  model_config c = tiny(family, true);
  c.dim = 32, c.heads = 4, c.kv_heads = 2, c.ffn = 64, c.vocab = 64, c.seq_len = 32, c.layers = 3;
  model m(c, 9);
  tensor tokens = batch(4, 32, c.vocab, 3), targets = batch(4, 32, c.vocab, 4);
  struct result {
    float loss;
    std::vector<float> grads;
    size_t peak;
  };
  auto run = [&](recompute_mode rc) {
    m.zero_grad();
    memory().reset_peaks();
    size_t base = memory().category(mem_category::activations).live;
    tape tp(be);
    var l = m.loss(tp, tokens, targets, rc);
    tp.backward(l);
    const tensor& g = m.grad_arena();
    return result{l->data.f32()[0], std::vector<float>(g.f32(), g.f32() + g.numel()),
                  memory().category(mem_category::activations).peak - base};
  };
  result none = run(recompute_mode::none), sel = run(recompute_mode::selective), full = run(recompute_mode::full);
  std::printf("%s peak activations: none %zu, selective %zu, full %zu bytes\n", family, none.peak, sel.peak, full.peak);
  CHECK(sel.loss == none.loss);
  CHECK(full.loss == none.loss);
  CHECK(sel.grads == none.grads);
  CHECK(full.grads == none.grads);
  CHECK(sel.peak < none.peak);
  CHECK(full.peak < sel.peak);
}

TEST_CASE("a batch longer than seq_len is rejected", "[model]") {
  cpu_backend be(1);
  model m(tiny("llama", true), 1);
  tape tp(be);
  CHECK_THROWS_WITH(m.loss(tp, batch(1, 7, 11, 1), batch(1, 7, 11, 2)), "Invalid batch: T = 7 exceeds seq_len (6)");
}

// The backend's kernels give each output to one thread and reduce in a fixed order, and matmul
// splits C's rows into 64-row blocks of single-threaded Eigen GEMMs whose k order depends only on
// K: so the thread count changes no bit.
TEST_CASE("loss and gradients are bit-identical across thread counts", "[model][threads]") {
  // Sizes above the backend's parallel grain, so every kernel really splits its work.
  model_config c = tiny("llama", false);
  c.dim = 128, c.heads = 4, c.kv_heads = 2, c.ffn = 192, c.vocab = 128, c.seq_len = 128, c.layers = 1;
  model m(c, 11);
  tensor tokens = batch(4, 128, c.vocab, 5), targets = batch(4, 128, c.vocab, 6);
  auto run = [&](int threads) {
    cpu_backend be(threads);
    m.zero_grad();
    tape tp(be);
    var l = m.loss(tp, tokens, targets);
    tp.backward(l);
    std::vector<float> out{l->data.f32()[0]};
    out.insert(out.end(), m.grad_arena().f32(), m.grad_arena().f32() + m.grad_arena().numel());
    return out;
  };
  auto one = run(1), two = run(2);
  double d2 = 0, n2 = 0;
  for (size_t i = 1; i < one.size(); ++i) d2 += std::pow(one[i] - two[i], 2), n2 += std::pow(one[i], 2);
  std::printf("threads 1 vs 2: gradient relative difference %.3g\n", std::sqrt(d2 / n2));
  CHECK(one == two);
  CHECK(run(2) == two);
}
