// Encoding text to ids with a tokenizer: added tokens first (leftmost-longest), then the pre-tokenizer,
// then BPE per piece through a cache of piece -> ids. One bpe_encoder per thread: it owns the cache
// and scratch buffers, so steady-state encoding allocates only when a new piece enters the cache.
// Invalid UTF-8: each offending byte is encoded through its byte-level token (byte-exact round trip)
// and counted in encode_result::invalid_utf8_bytes (docs/tokenizer.md).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/tokenizer.hpp"

namespace wb {

struct encode_result {
  size_t tokens = 0;              // ids appended
  size_t invalid_utf8_bytes = 0;  // bytes of the input that were not valid UTF-8
};

class bpe_encoder {
 public:
  explicit bpe_encoder(const tokenizer& t, size_t cache_entries = 1 << 18);

  // Appends the ids of `text` to `out`. With allow_special false, special added tokens in the text
  // are encoded as the ordinary text they spell; non-special added tokens still match.
  encode_result encode(std::string_view text, std::vector<int32_t>& out, bool allow_special = true);

  // The BPE ids of one pre-tokenized piece (no added-token matching), appended to out.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out);

 private:
  struct symbol {
    int32_t id, prev, next;
  };
  struct candidate {
    uint32_t rank;
    int32_t pos, left, right, result;
  };
  void merge(std::string_view piece, std::vector<int32_t>& out);
  void push_candidate(int32_t pos);
  size_t match_added(std::string_view text, size_t pos, bool allow_special, int32_t& id) const;
  void encode_text(std::string_view text, std::vector<int32_t>& out);

  const tokenizer& tok_;
  size_t cache_entries_;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, string_view_hash, std::equal_to<>> cache_;
  std::vector<int32_t> cache_ids_;  // (offset, count) in cache_ point here
  std::vector<symbol> symbols_;
  std::vector<candidate> heap_;
  std::string prefixed_;
  // Added tokens by first byte, longest first, for leftmost-longest matching.
  std::array<std::vector<const added_token*>, 256> added_by_first_;
};

// Convenience for one-off calls (tests, small inputs): a fresh encoder each time.
std::vector<int32_t> tokenizer_encode(const tokenizer& t, std::string_view text, bool allow_special = true);

}  // namespace wb
