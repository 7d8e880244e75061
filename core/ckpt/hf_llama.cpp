// Name mapping, dtype conversion and config.json of Hugging Face Llama checkpoints.
#include "core/ckpt/hf_llama.hpp"

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <stdexcept>

#include "core/model/param_layout.hpp"
#include "core/util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace wb {
namespace {

float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {  // round to nearest even; NaN stays NaN
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return uint16_t((u >> 16) | 0x40);
  return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

float f16_to_f32(uint16_t h) {  // IEEE 754 binary16, subnormals included
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
  if (exp == 0) {
    if (mant == 0) u = sign;
    else {
      int e = -1;
      do { ++e; mant <<= 1; } while (!(mant & 0x400));
      u = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) u = sign | 0x7f800000 | mant << 13;
  else u = sign | (exp + 127 - 15) << 23 | mant << 13;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <class T>
T required(const nlohmann::json& j, const char* key, const std::string& file) {
  if (!j.contains(key)) throw std::runtime_error(fmt::format("{}: no \"{}\"", file, key));
  return j.at(key).get<T>();
}

}  // namespace

model_config hf_read_config(const std::string& dir) {
  std::string path = (fs::path(dir) / "config.json").string();
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: missing: a Hugging Face model directory has a config.json", path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}: unreadable: {}", path, e.what()));
  }
  std::string type = j.value("model_type", "");
  auto archs = j.value("architectures", std::vector<std::string>{});
  if (type != "llama" || (!archs.empty() && archs[0] != "LlamaForCausalLM"))
    throw std::runtime_error(fmt::format("{}: architecture {} (model_type \"{}\") is not supported: wb imports "
                                         "LlamaForCausalLM (model_type \"llama\")", path,
                                         archs.empty() ? "?" : archs[0], type));
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    throw std::runtime_error(fmt::format("{}: rope_scaling {} is not supported (wb implements plain RoPE; Llama 3.1's "
                                         "scaled RoPE is not yet)", path, j["rope_scaling"].dump()));
  model_config c;
  c.family = "llama";
  c.dim = required<int>(j, "hidden_size", path);
  c.ffn = required<int>(j, "intermediate_size", path);
  c.heads = required<int>(j, "num_attention_heads", path);
  c.layers = required<int>(j, "num_hidden_layers", path);
  c.kv_heads = j.value("num_key_value_heads", c.heads);
  c.vocab = required<int>(j, "vocab_size", path);
  c.seq_len = j.value("max_position_embeddings", 2048);
  c.norm_eps = j.value("rms_norm_eps", 1e-5);
  c.rope_theta = j.value("rope_theta", 10000.0);
  c.tied_embeddings = j.value("tie_word_embeddings", false);
  c.init = "hf:" + dir;
  c.precision = "fp32";
  return c;
}

std::string hf_name_of(const std::string& w) {
  static const std::regex layer(R"(layers\.(\d+)\.(.+))");
  std::smatch m;
  if (w == "tok_emb") return "model.embed_tokens.weight";
  if (w == "norm") return "model.norm.weight";
  if (w == "lm_head") return "lm_head.weight";
  if (std::regex_match(w, m, layer)) {
    static const std::map<std::string, std::string> inner = {
        {"attn_norm", "input_layernorm"}, {"attn.wq", "self_attn.q_proj"}, {"attn.wk", "self_attn.k_proj"},
        {"attn.wv", "self_attn.v_proj"},  {"attn.wo", "self_attn.o_proj"}, {"mlp_norm", "post_attention_layernorm"},
        {"mlp.w1", "mlp.gate_proj"},      {"mlp.w3", "mlp.up_proj"},       {"mlp.w2", "mlp.down_proj"}};
    auto it = inner.find(m[2]);
    if (it != inner.end()) return fmt::format("model.layers.{}.{}.weight", m[1].str(), it->second);
  }
  throw std::invalid_argument("no Hugging Face name for wb parameter " + w);
}

hf_weights hf_load(const std::string& dir) {
  hf_weights w;
  w.config = hf_read_config(dir);
  // One file, or the shards an index lists.
  std::vector<std::unique_ptr<safetensors_file>> files;
  std::string index = (fs::path(dir) / "model.safetensors.index.json").string();
  if (fs::exists(index)) {
    std::ifstream in(index);
    auto j = nlohmann::json::parse(in);
    std::set<std::string> names;
    for (auto& [_, file] : j.at("weight_map").items()) names.insert(file.get<std::string>());
    for (auto& n : names) files.push_back(std::make_unique<safetensors_file>((fs::path(dir) / n).string()));
  } else {
    std::string single = (fs::path(dir) / "model.safetensors").string();
    if (!fs::exists(single))
      throw std::runtime_error(fmt::format("{}: no model.safetensors or model.safetensors.index.json", dir));
    files.push_back(std::make_unique<safetensors_file>(single));
  }
  auto find = [&](const std::string& name) -> std::pair<const st_tensor_in*, std::string> {
    for (auto& f : files)
      if (auto* t = f->find(name)) return {t, f->path()};
    return {nullptr, ""};
  };
  for (auto& spec : param_layout(w.config)) {
    std::string hf = hf_name_of(spec.name);
    auto [t, file] = find(hf);
    if (!t) throw std::runtime_error(fmt::format("{}: no tensor {} (wb {}) that config.json's model needs", dir, hf, spec.name));
    if (t->shape != spec.shape)
      throw std::runtime_error(fmt::format("{}: tensor {} has shape {}, config.json's model needs {}", file, hf,
                                           shape_str(t->shape), shape_str(spec.shape)));
    std::vector<float> v(size_t(t->elements()));
    switch (t->dtype) {
      case st_dtype::f32: std::memcpy(v.data(), t->data, t->bytes); break;
      case st_dtype::bf16:
        for (size_t i = 0; i < v.size(); ++i) { uint16_t b; std::memcpy(&b, t->data + 2 * i, 2); v[i] = bf16_to_f32(b); }
        break;
      case st_dtype::f16:
        for (size_t i = 0; i < v.size(); ++i) { uint16_t h; std::memcpy(&h, t->data + 2 * i, 2); v[i] = f16_to_f32(h); }
        break;
      default:
        throw std::runtime_error(fmt::format("{}: tensor {} is {}; wb reads F32, BF16 and F16 weights", file, hf,
                                             st_dtype_name(t->dtype)));
    }
    w.source_dtype = st_dtype_name(t->dtype);
    w.tensors[spec.name] = std::move(v);
  }
  return w;
}

void hf_save(const std::string& dir, const model_config& c, const std::map<std::string, const float*>& tensors,
             st_dtype dtype) {
  if (c.family != "llama") throw std::runtime_error("export to Hugging Face supports the llama family only");
  fs::create_directories(dir);
  nlohmann::ordered_json j;
  j["architectures"] = {"LlamaForCausalLM"};
  j["model_type"] = "llama";
  j["hidden_size"] = c.dim;
  j["intermediate_size"] = c.ffn;
  j["num_attention_heads"] = c.heads;
  j["num_hidden_layers"] = c.layers;
  j["num_key_value_heads"] = c.kv_heads;
  j["vocab_size"] = c.vocab;
  j["max_position_embeddings"] = c.seq_len;
  j["rms_norm_eps"] = c.norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["tie_word_embeddings"] = c.tied_embeddings;
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["torch_dtype"] = dtype == st_dtype::bf16 ? "bfloat16" : "float32";
  atomic_write_file((fs::path(dir) / "config.json").string(), j.dump(2) + "\n");

  std::vector<st_tensor_out> outs;
  std::vector<std::vector<uint16_t>> converted;
  converted.reserve(tensors.size());
  for (auto& spec : param_layout(c)) {
    auto it = tensors.find(spec.name);
    if (it == tensors.end()) throw std::runtime_error("export: no values for wb parameter " + spec.name);
    const void* data = it->second;
    if (dtype == st_dtype::bf16) {
      auto& b = converted.emplace_back(size_t(shape_numel(spec.shape)));
      for (size_t i = 0; i < b.size(); ++i) b[i] = f32_to_bf16(it->second[i]);
      data = b.data();
    }
    outs.push_back({hf_name_of(spec.name), dtype, spec.shape, data});
  }
  safetensors_write((fs::path(dir) / "model.safetensors").string(), outs, {{"format", "pt"}});
}

}  // namespace wb
