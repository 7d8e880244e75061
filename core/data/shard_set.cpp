// Shard set manifest and document addressing.
#include "core/data/shard_set.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/data/data_error.hpp"
#include "core/util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace wb {

void shard_set_write_manifest(const std::string& dir, const shard_set_manifest& m) {
  nlohmann::ordered_json j;
  j["format"] = "wb-shard-set";
  j["version"] = m.version;
  j["tokenizer_fingerprint"] = m.tokenizer_fingerprint;
  j["vocab_size"] = m.vocab_size;
  j["eos_id"] = m.eos_id;
  j["documents"] = m.documents;
  j["tokens"] = m.tokens;
  j["input_bytes"] = m.input_bytes;
  j["shards"] = nlohmann::ordered_json::array();
  for (auto& s : m.shards)
    j["shards"].push_back({{"file", s.file}, {"documents", s.documents}, {"tokens", s.tokens},
                           {"input_bytes", s.input_bytes}});
  j["inputs"] = m.inputs;
  atomic_write_file((fs::path(dir) / "manifest.json").string(), j.dump(2) + "\n");
}

shard_set_manifest shard_set_read_manifest(const std::string& dir) {
  std::string path = (fs::path(dir) / "manifest.json").string();
  std::ifstream in(path);
  if (!in) {
    if (!fs::exists(dir)) throw data_error(fmt::format("{}: no such shard set; prepare it with wb data prepare", dir));
    throw data_error(fmt::format("{}: no manifest.json: the shard set is incomplete (an interrupted wb data prepare?); "
                                 "run wb data prepare again to finish it", dir));
  }
  shard_set_manifest m;
  try {
    auto j = nlohmann::json::parse(in);
    if (j.value("format", "") != "wb-shard-set") throw data_error(path + ": not a wb shard set manifest");
    m.version = j.at("version");
    if (m.version > shard_set_version)
      throw data_error(fmt::format("{}: shard set version {} is newer than this wb reads ({})", path, m.version,
                                   shard_set_version));
    m.tokenizer_fingerprint = j.at("tokenizer_fingerprint");
    m.vocab_size = j.at("vocab_size");
    m.eos_id = j.at("eos_id");
    m.documents = j.at("documents");
    m.tokens = j.at("tokens");
    m.input_bytes = j.at("input_bytes");
    for (auto& s : j.at("shards"))
      m.shards.push_back({s.at("file"), s.at("documents"), s.at("tokens"), s.at("input_bytes")});
    m.inputs = j.at("inputs").get<std::vector<std::string>>();
  } catch (nlohmann::json::exception& e) {
    throw data_error(fmt::format("{}: unreadable manifest: {}", path, e.what()));
  }
  return m;
}

shard_set::shard_set(const std::string& dir) : dir_(dir), manifest_(shard_set_read_manifest(dir)) {
  uint64_t docs = 0, tokens = 0;
  for (auto& e : manifest_.shards) {
    shard_reader r((fs::path(dir) / e.file).string());
    if (r.documents() != e.documents || r.tokens() != e.tokens)
      throw data_error(fmt::format("{}: holds {} documents and {} tokens, the manifest says {} and {}", r.path(),
                                   r.documents(), r.tokens(), e.documents, e.tokens));
    if (fingerprint_to_hex(r.fingerprint()) != manifest_.tokenizer_fingerprint)
      throw data_error(fmt::format("{}: tokenized with tokenizer {}, the set's manifest says {}", r.path(),
                                   fingerprint_to_hex(r.fingerprint()), manifest_.tokenizer_fingerprint));
    first_doc_.push_back(docs);
    docs += r.documents();
    tokens += r.tokens();
    shards_.push_back(std::move(r));
  }
  if (docs != manifest_.documents || tokens != manifest_.tokens)
    throw data_error(fmt::format("{}: shards hold {} documents and {} tokens, the manifest says {} and {}", dir, docs,
                                 tokens, manifest_.documents, manifest_.tokens));
}

std::pair<const shard_reader*, uint64_t> shard_set::locate(uint64_t doc) const {
  size_t s = std::upper_bound(first_doc_.begin(), first_doc_.end(), doc) - first_doc_.begin() - 1;
  return {&shards_[s], doc - first_doc_[s]};
}

uint64_t shard_set::doc_length(uint64_t doc) const {
  auto [shard, local] = locate(doc);
  return shard->doc_length(local);
}

void shard_set::read_doc(uint64_t doc, uint64_t offset, uint64_t count, uint32_t* out) const {
  auto [shard, local] = locate(doc);
  shard->read(shard->doc_begin(local) + offset, count, out);
}

}  // namespace wb
