// One source of the mix as an endless token stream: its training documents in a seeded order per
// epoch, each followed by EOS, epochs back to back. A fixed fraction of documents (chosen by a
// hash of the document index, independent of the training seed) is held out for validation.
// Any position can be read without replaying the stream, which is what makes resume exact.
#pragma once
#include <cstdint>
#include <vector>

#include "core/data/shard_set.hpp"

namespace wb {

class source_stream {
 public:
  source_stream(const shard_set& set, uint64_t seed, uint32_t source_index, double valid_fraction);

  uint64_t epoch_tokens() const { return epoch_tokens_; }  // training tokens + one EOS per document
  uint64_t valid_tokens() const { return valid_tokens_; }
  size_t train_documents() const { return train_docs_.size(); }
  size_t valid_documents() const { return valid_docs_.size(); }

  // Tokens [position, position + count) of the training stream (which spans epochs).
  void read(uint64_t position, uint64_t count, uint32_t* out);
  // Tokens of the validation stream (documents in index order, EOS after each, no repetition);
  // returns how many were available.
  uint64_t read_valid(uint64_t position, uint64_t count, uint32_t* out) const;

 private:
  void enter_epoch(uint64_t epoch);
  const shard_set& set_;
  uint64_t seed_;
  uint32_t source_index_;
  uint32_t eos_;
  std::vector<uint64_t> train_docs_, valid_docs_;
  uint64_t epoch_tokens_ = 0, valid_tokens_ = 0;
  uint64_t epoch_ = UINT64_MAX;
  std::vector<uint64_t> order_;    // this epoch's documents
  std::vector<uint64_t> starts_;   // cumulative start of each, with the EOS counted
  std::vector<uint64_t> valid_starts_;
};

}  // namespace wb
