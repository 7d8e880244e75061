// Reading and writing HF tokenizer.json. What is accepted is listed in docs/tokenizer.md; anything
// else is refused with the key that is not supported rather than encoded differently from HF.
#include "core/tokenizer/tokenizer_json.hpp"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/tokenizer/byte_level.hpp"

namespace wb {
namespace {

using json = nlohmann::json;

struct loader {
  std::string name;

  [[noreturn]] void fail(const std::string& key, const json& given, const std::string& expected) const {
    throw tokenizer_error(fmt::format("{}: Invalid '{}' {}: expected {}", name, key,
                                      given.is_null() ? std::string("nothing") : given.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 80),
                                      expected));
  }
  const json& need(const json& obj, const char* field, const std::string& key, json::value_t type, const char* what) const {
    static const json none;
    auto it = obj.find(field);
    const json& v = it == obj.end() ? none : *it;
    if (v.type() != type && !(type == json::value_t::number_unsigned && v.is_number_integer())) fail(key, v, what);
    return v;
  }
  // Fields that must be absent, null, false or an empty string for the encoding to be plain byte-level BPE.
  void need_off(const json& obj, const char* field, const std::string& key) const {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null() || (it->is_boolean() && !it->get<bool>()) || (it->is_string() && it->get<std::string>().empty()))
      return;
    fail(key, *it, "null (not supported)");
  }

  void pre_tokenizer(const json& j, tokenizer& t) const {
    auto bytelevel = [&](const json& p, const std::string& key, bool want_regex) {
      t.add_prefix_space = p.value("add_prefix_space", false);
      bool use_regex = p.value("use_regex", true);
      if (use_regex != want_regex) fail(key + ".use_regex", use_regex, want_regex ? "true" : "false after a Split");
    };
    const json& p = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json();
    std::string type = p.is_object() ? p.value("type", "") : "";
    if (type == "ByteLevel") {
      bytelevel(p, "pre_tokenizer", true);
      t.pattern = split_pattern::gpt2;
      return;
    }
    if (type != "Sequence") fail("pre_tokenizer", p.is_object() ? json(type) : p, "\"ByteLevel\" or \"Sequence\" of Split and ByteLevel");
    const json& seq = need(p, "pretokenizers", "pre_tokenizer.pretokenizers", json::value_t::array, "a list of 2");
    if (seq.size() != 2 || seq[0].value("type", "") != "Split" || seq[1].value("type", "") != "ByteLevel")
      fail("pre_tokenizer.pretokenizers", seq, "[Split, ByteLevel]");
    const json& split = seq[0];
    std::string regex = split.contains("pattern") && split["pattern"].is_object() ? split["pattern"].value("Regex", "") : "";
    if (regex == llama3_split_regex) t.pattern = split_pattern::llama3;
    else if (regex == gpt2_split_regex) t.pattern = split_pattern::gpt2;
    else fail("pre_tokenizer.pretokenizers[0].pattern.Regex", regex, "the Llama 3 or GPT-2 split regex (docs/tokenizer.md)");
    if (split.value("behavior", "") != "Isolated") fail("pre_tokenizer.pretokenizers[0].behavior", split.value("behavior", json()), "\"Isolated\"");
    if (split.value("invert", false)) fail("pre_tokenizer.pretokenizers[0].invert", true, "false");
    bytelevel(seq[1], "pre_tokenizer.pretokenizers[1]", false);
  }

  std::string token_bytes(const std::string& s, const std::string& key) const {
    auto b = byte_level_decode(s);
    if (!b) fail(key, s, "a string of byte-level characters");
    return *b;
  }

  tokenizer load(const std::string& text) const {
    json j;
    try {
      j = json::parse(text);
    } catch (const json::parse_error& e) {
      throw tokenizer_error(fmt::format("{}: not valid JSON: {}", name, e.what()));
    }
    if (!j.is_object()) throw tokenizer_error(fmt::format("{}: not valid JSON: expected an object at the top", name));
    tokenizer t;
    if (j.contains("normalizer") && !j["normalizer"].is_null()) fail("normalizer", j["normalizer"].value("type", json()), "null (not supported)");
    pre_tokenizer(j, t);
    const json& model = need(j, "model", "model", json::value_t::object, "an object");
    const json& type = model.contains("type") ? model["type"] : json("BPE");
    if (type != "BPE") fail("model.type", type, "\"BPE\"");
    for (const char* f : {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "byte_fallback"})
      need_off(model, f, std::string("model.") + f);
    t.ignore_merges = model.value("ignore_merges", false);
    const json& vocab = need(model, "vocab", "model.vocab", json::value_t::object, "an object of token: id");
    size_t size = 0;
    for (auto& [tok, id] : vocab.items()) {
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 0x7FFFFFFF)
        fail("model.vocab." + tok, id, "an id from 0 to 2147483647");
      size = std::max<size_t>(size, id.get<size_t>() + 1);
    }
    const json& added = j.contains("added_tokens") ? j["added_tokens"] : json::array();
    if (!added.is_array()) fail("added_tokens", added, "a list");
    for (size_t i = 0; i < added.size(); ++i) {
      std::string key = fmt::format("added_tokens[{}]", i);
      const json& a = added[i];
      if (!a.is_object()) fail(key, a, "an object");
      int64_t id = need(a, "id", key + ".id", json::value_t::number_unsigned, "an id").get<int64_t>();
      std::string content = need(a, "content", key + ".content", json::value_t::string, "a string").get<std::string>();
      if (content.empty()) fail(key + ".content", content, "a non-empty string");
      for (const char* f : {"lstrip", "rstrip", "single_word"}) need_off(a, f, key + "." + f);
      if (id > 0x7FFFFFFF) fail(key + ".id", id, "an id from 0 to 2147483647");
      t.added.push_back({int32_t(id), content, a.value("special", false)});
      size = std::max<size_t>(size, size_t(id) + 1);
    }
    t.tokens.assign(size, "");
    std::vector<const std::string*> owner(size, nullptr);
    for (auto& [tok, id] : vocab.items()) {
      size_t i = id.get<size_t>();
      if (owner[i]) fail("model.vocab." + tok, id, fmt::format("an id no other token has ('{}' has it)", *owner[i]));
      owner[i] = &tok;
      // A model token outside the byte-level alphabet (GPT-2's "<|endoftext|>" is inside) decodes as itself.
      auto b = byte_level_decode(tok);
      t.tokens[i] = b ? *b : tok;
    }
    for (auto& a : t.added) t.tokens[a.id] = a.content;
    try {
      tokenizer_index(t);
    } catch (const tokenizer_error& e) {
      throw tokenizer_error(fmt::format("{}: Invalid 'model.vocab': {}", name, e.what()));
    }
    const json& merges = need(model, "merges", "model.merges", json::value_t::array, "a list of merges");
    t.merges.reserve(merges.size());
    for (size_t r = 0; r < merges.size(); ++r) {
      const json& m = merges[r];
      std::string key = fmt::format("model.merges[{}]", r), a, b;
      if (m.is_string()) {
        auto s = m.get<std::string>();
        auto sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) fail(key, m, "\"left right\" with one space");
        a = s.substr(0, sp), b = s.substr(sp + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        a = m[0].get<std::string>(), b = m[1].get<std::string>();
      } else {
        fail(key, m, "\"left right\" or [\"left\", \"right\"]");
      }
      auto id_of = [&](const std::string& s) {
        auto it = t.model_ids.find(token_bytes(s, key));
        if (it == t.model_ids.end()) fail(key, m, fmt::format("tokens of model.vocab ('{}' is not)", s));
        return it->second;
      };
      int32_t l = id_of(a), rr = id_of(b), res = id_of(a + b);
      t.merges.push_back({l, rr, res});
    }
    tokenizer_index(t);
    return t;
  }
};

}  // namespace

tokenizer tokenizer_from_json_text(const std::string& text, const std::string& name) { return loader{name}.load(text); }

tokenizer tokenizer_load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw tokenizer_error(fmt::format("{}: cannot read the tokenizer file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return tokenizer_from_json_text(ss.str(), path);
}

std::string tokenizer_to_json_text(const tokenizer& t) {
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  ojson added = ojson::array();
  for (auto& a : t.added)
    added.push_back({{"id", a.id}, {"content", a.content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", a.special}});
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  ojson byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", t.add_prefix_space}, {"trim_offsets", true}, {"use_regex", false}};
  ojson split = {{"type", "Split"},
                 {"pattern", {{"Regex", t.pattern == split_pattern::llama3 ? llama3_split_regex : gpt2_split_regex}}},
                 {"behavior", "Isolated"},
                 {"invert", false}};
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {split, byte_level}}};
  j["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  ojson vocab = ojson::object();
  for (size_t id = 0; id < t.tokens.size(); ++id)
    if (!t.is_added[id] && !t.tokens[id].empty()) vocab[byte_level_encode(t.tokens[id])] = id;
  ojson merges = ojson::array();
  for (auto& m : t.merges) merges.push_back({byte_level_encode(t.tokens[m.left]), byte_level_encode(t.tokens[m.right])});
  j["model"] = {{"type", "BPE"},          {"dropout", nullptr},     {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},      {"byte_fallback", false}, {"ignore_merges", t.ignore_merges},
                {"vocab", vocab},         {"merges", merges}};
  return j.dump(1) + "\n";
}

void tokenizer_save(const tokenizer& t, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw tokenizer_error(fmt::format("{}: cannot write the tokenizer file", path));
  out << tokenizer_to_json_text(t);
  if (!out) throw tokenizer_error(fmt::format("{}: cannot write the tokenizer file", path));
}

}  // namespace wb
