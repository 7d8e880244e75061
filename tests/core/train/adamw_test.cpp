// AdamW: the first step against the closed form, decoupled decay only on decayed parameters,
// and moments charged to optimizer_state.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/train/adamw.hpp"

using namespace wb;

namespace {
model_config tiny() {
  model_config c;
  c.family = "llama", c.layers = 1, c.dim = 8, c.heads = 2, c.kv_heads = 1, c.ffn = 12, c.vocab = 10, c.seq_len = 4;
  c.tied_embeddings = true;
  return c;
}
}  // namespace

TEST_CASE("the first AdamW step moves each weight by lr * g / (|g| + eps) after decay", "[train][adamw]") {
  model m(tiny(), 1);
  optim_config o;
  o.lr = 0.01, o.beta1 = 0.9, o.beta2 = 0.95, o.eps = 1e-8, o.weight_decay = 0.1;
  auto before_state = memory().category(mem_category::optimizer_state).live;
  adamw opt(m, o);
  CHECK(memory().category(mem_category::optimizer_state).live - before_state == size_t(m.num_params()) * 8);
  const var& w = m.param("layers.0.attn.wq");
  const var& norm = m.param("norm");
  w->grad().fill(0.5f);
  norm->grad().fill(-2.0f);
  float w0 = w->data.f32()[3], n0 = norm->data.f32()[3];
  opt.step(o.lr);
  // bias-corrected m = g, v = g^2: the step is lr * g / (|g| + eps)
  CHECK(w->data.f32()[3] == Approx(w0 * (1 - 0.01 * 0.1) - 0.01 * 0.5 / (0.5 + 1e-8)).epsilon(1e-6));
  CHECK(norm->data.f32()[3] == Approx(n0 + 0.01).epsilon(1e-6));  // no decay on norm weights
}

TEST_CASE("weight decay shrinks matrices but not norm weights when gradients are zero", "[train][adamw]") {
  model m(tiny(), 2);
  optim_config o;
  o.lr = 0.1, o.weight_decay = 0.5;
  adamw opt(m, o);
  m.zero_grad();
  float w0 = m.param("tok_emb")->data.f32()[0];
  opt.step(o.lr);
  CHECK(m.param("tok_emb")->data.f32()[0] == Approx(w0 * 0.95f));
  CHECK(m.param("layers.0.attn_norm")->data.f32()[0] == 1.0f);
}
