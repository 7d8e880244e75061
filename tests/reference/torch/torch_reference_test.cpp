// wb's Llama and GPT against PyTorch: loss and every parameter gradient of tiny models, from the
// float64 fixture that gen_reference.py writes (Hugging Face modelling equations, fixed weights and
// tokens). Torch is not needed here: the fixtures are committed. The weight generator below must
// match gen_reference.py's `weights`; the fixture's sum of |w| checks that it does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "backends/cpu/cpu_backend.hpp"
#include "core/ckpt/safetensors.hpp"
#include "core/model/model.hpp"

using namespace wb;

namespace {

// fp32 against the float64 reference. A gradient tensor passes when its max |wb - torch| is within
// grad_tolerance of its scale: its own max |torch|, but at least 1e-3 of the model's largest
// gradient (the key biases' true gradient is 0, softmax being shift-invariant: wb's is fp32 noise).
// fp32 rounding gives about 1e-6 of that scale (see the printout); a wrong sign, index or scale > 1e-1.
constexpr double loss_tolerance = 1e-6;  // relative (measured: 4e-8 at most)
constexpr double grad_tolerance = 1e-4;  // of the scale below (measured: 7.5e-7, key biases 5.4e-6)

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// Same as gen_reference.py: splitmix64 (Steele et al. 2014) of seed + (i + 1) * golden, the top 21
// bits as u in [-1, 1) on a 2^-20 grid, times a power of two: every value exact in fp32.
void fill_weights(const std::string& name, const shape_t& shape, float* w) {
  uint64_t seed = fnv1a64(name);
  std::string last = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
  double scale, offset = 0;
  if (name == "tok_emb" || name == "wte" || name == "wpe") scale = 0.5;
  else if (shape.size() == 2) scale = std::ldexp(1.0, -int(std::ceil(std::log2(double(shape[1])) / 2)));
  else if (last == "attn_norm" || last == "mlp_norm" || last == "norm" || last == "w") scale = 0.25, offset = 1;
  else scale = 0.0625;
  for (int64_t i = 0, n = shape_numel(shape); i < n; ++i) {
    uint64_t z = seed + uint64_t(i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    double u = double(z >> 43) / double(1 << 20) - 1.0;
    w[i] = float(offset + u * scale);
  }
}

model_config config_from(const nlohmann::json& j) {
  model_config c;
  c.family = j["family"];
  c.layers = j["layers"], c.dim = j["dim"], c.heads = j["heads"], c.kv_heads = j["kv_heads"], c.ffn = j["ffn"];
  c.vocab = j["vocab"], c.seq_len = j["seq_len"];
  c.tied_embeddings = j["tied_embeddings"], c.norm_eps = j["norm_eps"], c.rope_theta = j["rope_theta"];
  return c;
}

tensor i32_tensor(const st_tensor_in& t) {
  REQUIRE(t.dtype == st_dtype::i32);
  tensor out(t.shape, mem_category::temporaries, dtype::i32);
  std::memcpy(out.i32(), t.data, t.bytes);
  return out;
}

}  // namespace

TEST_CASE("wb's loss and gradients match PyTorch's Hugging Face equations on tiny models", "[reference][torch]") {
  std::string name = GENERATE("llama_untied", "llama_tied", "gpt_tied");
  int threads = GENERATE(1, 2);
  safetensors_file f(std::string(WB_SOURCE_DIR) + "/tests/reference/torch/" + name + ".safetensors");
  model_config c = config_from(nlohmann::json::parse(f.metadata().at("config")));
  model m(c, 1);
  double abs_sum = 0;
  for (const parameter& p : m.params()) {
    fill_weights(p.name, p.v->data.shape(), p.v->data.f32());
    for (int64_t i = 0; i < p.v->data.numel(); ++i) abs_sum += std::fabs(double(p.v->data.f32()[i]));
  }
  REQUIRE(abs_sum == Approx(std::stod(f.metadata().at("weights_abs_sum"))).epsilon(1e-12));

  cpu_backend be(threads);
  m.zero_grad();
  tape tp(be);
  var loss = m.loss(tp, i32_tensor(*f.find("tokens")), i32_tensor(*f.find("targets")));
  double wb_loss = loss->data.f32()[0], ref_loss;
  std::memcpy(&ref_loss, f.find("loss")->data, 8);
  tp.backward(loss);

  double global_max = 0;
  for (const parameter& p : m.params()) {
    const st_tensor_in* g = f.find("grad." + p.name);
    REQUIRE(g);
    for (int64_t i = 0; i < g->elements(); ++i)
      global_max = std::max(global_max, std::fabs(double(reinterpret_cast<const float*>(g->data)[i])));
  }
  REQUIRE(global_max > 0);
  double worst_rel = 0, worst_abs = 0;
  std::string worst;
  for (const parameter& p : m.params()) {
    const st_tensor_in* g = f.find("grad." + p.name);
    REQUIRE(g);
    REQUIRE(g->shape == p.v->data.shape());
    const float* ref = reinterpret_cast<const float*>(g->data);
    const float* got = p.v->grad().f32();
    double max_ref = 0, max_diff = 0;
    for (int64_t i = 0; i < g->elements(); ++i)
      max_ref = std::max(max_ref, std::fabs(double(ref[i]))), max_diff = std::max(max_diff, std::fabs(double(got[i]) - ref[i]));
    double rel = max_diff / std::max(max_ref, 1e-3 * global_max);
    INFO(p.name << ": max |diff| " << max_diff << ", max |grad| " << max_ref);
    CHECK(rel <= grad_tolerance);
    if (rel > worst_rel) worst_rel = rel, worst_abs = max_diff, worst = p.name;
  }
  std::printf("torch reference %-12s threads %d: loss wb %.7f torch %.7f (rel diff %.2e); worst gradient %s: "
              "max abs diff %.2e, %.2e of its scale\n",
              name.c_str(), threads, wb_loss, ref_loss, std::fabs(wb_loss - ref_loss) / ref_loss, worst.c_str(), worst_abs,
              worst_rel);
  CHECK(std::fabs(wb_loss - ref_loss) <= loss_tolerance * ref_loss);
}
