// A byte-level BPE tokenizer (GPT-2, Llama 3 and what tokenizer_train makes): the vocabulary as raw
// bytes, merges by rank, added tokens, and the pre-tokenizer it runs. Loading and saving HF
// tokenizer.json is in tokenizer_json.hpp, encoding in bpe_encoder.hpp. Limits: model type BPE with a
// ByteLevel pre-tokenizer and decoder only; no normalizer, no dropout, no byte_fallback, no unk.
#pragma once
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/merge_table.hpp"
#include "core/tokenizer/pretokenizer.hpp"

namespace wb {

struct tokenizer_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Lets maps keyed by std::string be searched with a std::string_view (no copy on the encode path).
struct string_view_hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct added_token {
  int32_t id;
  std::string content;  // UTF-8 text, matched verbatim in the input
  bool special;         // matched only when encoding with specials allowed
};

struct bpe_merge {
  int32_t left, right, result;  // ids
};

struct tokenizer {
  split_pattern pattern = split_pattern::llama3;
  bool add_prefix_space = false;  // ByteLevel add_prefix_space: prepend ' ' unless the text starts with one
  bool ignore_merges = false;     // a piece that is itself in the vocabulary maps to its id directly
  std::vector<std::string> tokens;  // id -> bytes (model tokens) or content (added tokens); "" = unused id
  std::vector<uint8_t> is_added;    // id -> 1 for added tokens
  std::vector<bpe_merge> merges;    // in rank order
  std::vector<added_token> added;

  // Lookups built by tokenizer_index.
  std::unordered_map<std::string, int32_t, string_view_hash, std::equal_to<>> model_ids;  // bytes -> id
  merge_table merge_index;
  std::array<int32_t, 256> byte_ids{};                      // byte -> id of its one-byte token

  size_t vocab_size() const { return tokens.size(); }
};

// Builds the lookups; throws tokenizer_error when a byte has no token or ids clash.
void tokenizer_index(tokenizer& t);

// The bytes of `ids` concatenated (added tokens as their content). Throws tokenizer_error naming the
// first id that is out of the vocabulary.
std::string tokenizer_decode(const tokenizer& t, const std::vector<int32_t>& ids);

// sha256 of the canonical description (docs/tokenizer.md, "Fingerprint"); 64 hex digits.
std::string tokenizer_fingerprint(const tokenizer& t);

}  // namespace wb
