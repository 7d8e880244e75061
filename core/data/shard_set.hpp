// A shard set: the directory `wb data prepare` writes for one source. manifest.json (written last,
// atomically) lists the shards with their counts; a directory without it is incomplete and is not
// opened. Documents are numbered across shards in shard order.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/data/shard_file.hpp"

namespace wb {

inline constexpr int shard_set_version = 1;

struct shard_entry {
  std::string file;  // relative to the set's directory
  uint64_t documents = 0, tokens = 0, input_bytes = 0;
};

struct shard_set_manifest {
  int version = shard_set_version;
  std::string tokenizer_fingerprint;  // sha256 hex
  uint32_t vocab_size = 0;
  uint32_t eos_id = 0;                // separates documents when the loader packs them
  uint64_t documents = 0, tokens = 0, input_bytes = 0;
  std::vector<shard_entry> shards;
  std::vector<std::string> inputs;
};

void shard_set_write_manifest(const std::string& dir, const shard_set_manifest& m);
shard_set_manifest shard_set_read_manifest(const std::string& dir);  // throws data_error

class shard_set {
 public:
  explicit shard_set(const std::string& dir);  // opens and verifies every shard; throws data_error
  const std::string& dir() const { return dir_; }
  const shard_set_manifest& manifest() const { return manifest_; }
  uint64_t documents() const { return manifest_.documents; }
  uint64_t tokens() const { return manifest_.tokens; }
  uint64_t doc_length(uint64_t doc) const;
  // Copies tokens [offset, offset + count) of document `doc`.
  void read_doc(uint64_t doc, uint64_t offset, uint64_t count, uint32_t* out) const;

 private:
  std::pair<const shard_reader*, uint64_t> locate(uint64_t doc) const;
  std::string dir_;
  shard_set_manifest manifest_;
  std::vector<shard_reader> shards_;
  std::vector<uint64_t> first_doc_;  // of each shard
};

}  // namespace wb
