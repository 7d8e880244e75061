// Parameter counts: published totals from the closed form, and the layout and the allocated model
// agreeing with it to the byte.
#include <catch2/catch.hpp>

#include "backends/cpu/cpu_backend.hpp"
#include "core/model/model.hpp"

using namespace wb;

namespace {
model_config llama3_8b() {
  model_config c;
  c.family = "llama", c.layers = 32, c.dim = 4096, c.heads = 32, c.kv_heads = 8, c.ffn = 14336;
  c.vocab = 128256, c.seq_len = 8192, c.rope_theta = 500000, c.tied_embeddings = false;
  return c;
}
model_config gpt2_124m() {
  model_config c;
  c.family = "gpt", c.layers = 12, c.dim = 768, c.heads = 12, c.kv_heads = 12, c.ffn = 3072;
  c.vocab = 50257, c.seq_len = 1024, c.tied_embeddings = true;
  return c;
}
model_config tiny(const char* family, bool tied) {
  model_config c;
  c.family = family, c.layers = 2, c.dim = 16, c.heads = 4, c.kv_heads = 2, c.ffn = 24, c.vocab = 13, c.seq_len = 8;
  c.tied_embeddings = tied;
  return c;
}
long long layout_total(const model_config& c) {
  long long n = 0;
  for (auto& p : param_layout(c)) n += shape_numel(p.shape);
  return n;
}
}  // namespace

TEST_CASE("Llama 3 8B counts 8,030,261,248 parameters without allocating", "[model][params]") {
  CHECK(param_count(llama3_8b()) == 8030261248LL);
  CHECK(layout_total(llama3_8b()) == 8030261248LL);
}

TEST_CASE("GPT-2 small counts 124,439,808 parameters", "[model][params]") {
  CHECK(param_count(gpt2_124m()) == 124439808LL);
  CHECK(layout_total(gpt2_124m()) == 124439808LL);
}

TEST_CASE("an allocated tiny model holds exactly the closed-form count, charged as parameters", "[model][params][memory]") {
  auto family = GENERATE("llama", "gpt");
  bool tied = GENERATE(false, true);
  model_config c = tiny(family, tied);
  auto before = memory().category(mem_category::parameters).live;
  memory().reset_peaks();
  model m(c, 1);
  CHECK(m.num_params() == param_count(c));
  long long sum = 0;
  for (auto& p : m.params()) sum += p.v->data.numel();
  CHECK(sum == param_count(c));
  CHECK(memory().category(mem_category::parameters).peak - before == size_t(param_count(c)) * 4);
  CHECK(memory().category(mem_category::gradients).live >= size_t(param_count(c)) * 4);
}

TEST_CASE("initialisation is deterministic from the seed and follows the documented scheme", "[model][init]") {
  model_config c = tiny("llama", false);
  c.dim = 64, c.ffn = 128, c.vocab = 200, c.heads = 4, c.kv_heads = 4;
  model a(c, 7), b(c, 7), d(c, 8);
  auto pa = a.param_arena(), pb = b.param_arena(), pd = d.param_arena();
  CHECK(std::equal(pa.f32(), pa.f32() + pa.numel(), pb.f32()));
  CHECK_FALSE(std::equal(pa.f32(), pa.f32() + pa.numel(), pd.f32()));
  auto stddev = [](const var& v) {
    double s = 0;
    for (int64_t i = 0; i < v->data.numel(); ++i) s += double(v->data.f32()[i]) * v->data.f32()[i];
    return std::sqrt(s / v->data.numel());
  };
  CHECK(stddev(a.param("tok_emb")) == Approx(0.02).epsilon(0.05));
  CHECK(stddev(a.param("layers.1.mlp.w2")) == Approx(0.02 / 2.0).epsilon(0.05));  // 0.02 / sqrt(2 L), L = 2
  CHECK(a.param("norm")->data.f32()[5] == 1.0f);
}

TEST_CASE("an invalid head split is reported in recipe terms", "[model][params]") {
  model_config c = tiny("llama", true);
  c.kv_heads = 3;
  CHECK_THROWS_WITH(param_count(c), "Invalid 'model.kv_heads' 3: expected a divisor of heads (4)");
}
