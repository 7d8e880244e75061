// Loading initial weights; see the header.
#include "core/run/model_init.hpp"

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <stdexcept>

#include "core/ckpt/checkpoint.hpp"
#include "core/ckpt/hf_llama.hpp"
#include "core/run/train_checkpoint.hpp"

namespace wb {

std::string model_initialize(model& m, const std::string& init) {
  if (init == "random") return "";
  if (init.rfind("hf:", 0) == 0) {
    std::string dir = init.substr(3);
    hf_weights w = hf_load(dir);
    const model_config& want = m.config();
    auto check = [&](const char* hf, long long got, const char* field, long long need) {
      if (got != need)
        throw std::runtime_error(fmt::format("{}/config.json has {} {}, the recipe's model.{} is {}", dir, hf, got, field,
                                             need));
    };
    check("num_hidden_layers", w.config.layers, "layers", want.layers);
    check("hidden_size", w.config.dim, "dim", want.dim);
    check("num_attention_heads", w.config.heads, "heads", want.heads);
    check("num_key_value_heads", w.config.kv_heads, "kv_heads", want.kv_heads);
    check("intermediate_size", w.config.ffn, "ffn", want.ffn);
    check("vocab_size", w.config.vocab, "vocab", want.vocab);
    check("tie_word_embeddings", w.config.tied_embeddings, "tied_embeddings", want.tied_embeddings);
    for (auto& p : m.params()) take_shard(p, w.tensors.at(p.name).data(), p.v->data.f32());
    return fmt::format("weights from Hugging Face {} ({})", dir, w.source_dtype);
  }
  if (init.rfind("ckpt:", 0) == 0) {
    std::string dir = init.substr(5);
    if (!std::filesystem::exists(std::filesystem::path(dir) / "manifest.json"))
      if (auto latest = ckpt_latest(dir)) dir = *latest;
    checkpoint_load_model(dir, m);
    return "weights from checkpoint " + dir;
  }
  throw std::runtime_error("model.init \"" + init + "\": expected \"random\", \"hf:DIR\" or \"ckpt:DIR\"");
}

}  // namespace wb
