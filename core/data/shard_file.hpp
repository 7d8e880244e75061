// One shard of tokenized documents, the unit `wb data prepare` writes and the loader maps.
// Layout (little-endian; docs/data.md):
//   header   128 bytes: magic "WBTOKENS", version, token_bytes (2|4), vocab_size, block_bytes,
//            documents, tokens, tokenizer fingerprint (32 bytes), header crc32c
//   body     u64 doc_offsets[documents + 1]  (token offsets; doc i = tokens[off[i], off[i+1]))
//            tokens[tokens]                  (u16 when the vocabulary fits, else u32)
//   footer   u32 crc32c[n_blocks] of the body in block_bytes blocks, u64 n_blocks, "WBTOKEND"
// Opening checks size, header, every block's checksum and every token id against the vocabulary,
// so a truncated, corrupted or foreign file is refused with its offset before training reads it.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace wb {

inline constexpr uint32_t shard_version = 1;
inline constexpr uint32_t shard_block_bytes = 1u << 20;
using fingerprint_bytes = std::array<uint8_t, 32>;

fingerprint_bytes fingerprint_from_hex(const std::string& hex);  // sha256 hex -> bytes
std::string fingerprint_to_hex(const fingerprint_bytes& f);

struct shard_contents {
  std::vector<uint64_t> doc_offsets{0};  // documents + 1 entries
  std::vector<uint32_t> tokens;
  void add_document(const std::vector<uint32_t>& ids) {
    tokens.insert(tokens.end(), ids.begin(), ids.end());
    doc_offsets.push_back(tokens.size());
  }
  uint64_t documents() const { return doc_offsets.size() - 1; }
};

// Writes atomically: to PATH.tmp, fsync, rename, fsync the directory.
void shard_write(const std::string& path, const shard_contents& contents, uint32_t vocab_size,
                 const fingerprint_bytes& fingerprint);

// A read-only, memory-mapped, verified shard.
class shard_reader {
 public:
  explicit shard_reader(const std::string& path);  // throws data_error
  ~shard_reader();
  shard_reader(shard_reader&&) noexcept;
  shard_reader& operator=(shard_reader&&) = delete;
  shard_reader(const shard_reader&) = delete;

  const std::string& path() const { return path_; }
  uint64_t documents() const { return documents_; }
  uint64_t tokens() const { return tokens_; }
  uint32_t vocab_size() const { return vocab_size_; }
  const fingerprint_bytes& fingerprint() const { return fingerprint_; }
  uint64_t doc_begin(uint64_t doc) const { return offsets_[doc]; }
  uint64_t doc_length(uint64_t doc) const { return offsets_[doc + 1] - offsets_[doc]; }
  uint32_t token(uint64_t i) const { return token_bytes_ == 2 ? tok16_[i] : tok32_[i]; }
  // Copies tokens [begin, begin + count) of the shard.
  void read(uint64_t begin, uint64_t count, uint32_t* out) const;

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  uint64_t documents_ = 0, tokens_ = 0;
  uint32_t vocab_size_ = 0, token_bytes_ = 0;
  fingerprint_bytes fingerprint_{};
  const uint64_t* offsets_ = nullptr;
  const uint16_t* tok16_ = nullptr;
  const uint32_t* tok32_ = nullptr;
};

}  // namespace wb
