// Training a byte-level BPE tokenizer with the Llama 3 split regex, GPT-2/Llama 3 style: ids 0..255
// are the single bytes (id = byte value), then one id per learned merge, then the special tokens.
// Deterministic: each step merges the most frequent adjacent pair; among equal counts, the pair with
// the smallest left id, then the smallest right id. Pair counts are updated incrementally, only in the
// words that hold the merged pair. Special tokens in the corpus are cut out before counting.
#pragma once
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.hpp"

namespace wb {

struct tokenizer_train_options {
  std::vector<std::string> files;       // read whole, as UTF-8 (invalid bytes count as raw bytes)
  std::vector<std::string> texts;       // in-memory documents, after the files
  size_t vocab_size = 0;                // total: 256 bytes + merges + special tokens
  std::vector<std::string> special_tokens = {"<|begin_of_text|>", "<|end_of_text|>"};
};

struct tokenizer_train_report {
  size_t bytes = 0;            // of training text
  size_t distinct_pieces = 0;  // pre-tokenized pieces counted
  size_t merges = 0;
};

// Throws tokenizer_error for an unreadable file or a vocab_size below 256 + special tokens.
tokenizer tokenizer_train(const tokenizer_train_options& o, tokenizer_train_report* report = nullptr);

}  // namespace wb
