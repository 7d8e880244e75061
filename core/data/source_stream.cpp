// Epoch ordering, positions and the validation hold-out of one source.
#include "core/data/source_stream.hpp"

#include <algorithm>
#include <cmath>

#include "core/util/random.hpp"

namespace wb {

namespace {
// Salt of the validation split: fixed so that the held-out documents do not move with train.seed
// and evaluation losses stay comparable across runs.
constexpr uint64_t valid_split_salt = 0x76616c6964ull;  // "valid"
}  // namespace

source_stream::source_stream(const shard_set& set, uint64_t seed, uint32_t source_index, double valid_fraction)
    : set_(set), seed_(seed), source_index_(source_index), eos_(set.manifest().eos_id) {
  uint64_t n = set.documents();
  // Hold out exactly round(n * fraction) documents (at least one when a fraction is asked for and
  // the source has two or more), the ones with the smallest hashes.
  uint64_t k = uint64_t(std::llround(double(n) * valid_fraction));
  if (valid_fraction > 0 && k == 0 && n >= 2) k = 1;
  std::vector<std::pair<uint64_t, uint64_t>> keyed(n);
  for (uint64_t d = 0; d < n; ++d) keyed[d] = {hash_keys(valid_split_salt, d), d};
  std::nth_element(keyed.begin(), keyed.begin() + k, keyed.end());
  std::vector<bool> valid(n, false);
  for (uint64_t i = 0; i < k; ++i) valid[keyed[i].second] = true;
  for (uint64_t d = 0; d < n; ++d) {
    if (valid[d]) {
      valid_starts_.push_back(valid_tokens_);
      valid_docs_.push_back(d);
      valid_tokens_ += set.doc_length(d) + 1;
    } else {
      train_docs_.push_back(d);
      epoch_tokens_ += set.doc_length(d) + 1;
    }
  }
}

void source_stream::enter_epoch(uint64_t epoch) {
  if (epoch == epoch_) return;
  auto perm = random_permutation(uint32_t(train_docs_.size()), hash_keys(seed_, source_index_, epoch));
  order_.resize(perm.size());
  starts_.resize(perm.size());
  uint64_t at = 0;
  for (size_t i = 0; i < perm.size(); ++i) {
    order_[i] = train_docs_[perm[i]];
    starts_[i] = at;
    at += set_.doc_length(order_[i]) + 1;
  }
  epoch_ = epoch;
}

void source_stream::read(uint64_t position, uint64_t count, uint32_t* out) {
  while (count > 0) {
    uint64_t epoch = position / epoch_tokens_, within = position % epoch_tokens_;
    enter_epoch(epoch);
    size_t i = std::upper_bound(starts_.begin(), starts_.end(), within) - starts_.begin() - 1;
    uint64_t offset = within - starts_[i], length = set_.doc_length(order_[i]);
    if (offset < length) {
      uint64_t take = std::min(count, length - offset);
      set_.read_doc(order_[i], offset, take, out);
      out += take; position += take; count -= take;
    } else {  // the EOS after the document
      *out++ = eos_;
      ++position;
      --count;
    }
  }
}

uint64_t source_stream::read_valid(uint64_t position, uint64_t count, uint32_t* out) const {
  uint64_t done = 0;
  while (done < count && position < valid_tokens_) {
    size_t i = std::upper_bound(valid_starts_.begin(), valid_starts_.end(), position) - valid_starts_.begin() - 1;
    uint64_t offset = position - valid_starts_[i], length = set_.doc_length(valid_docs_[i]);
    if (offset < length) {
      uint64_t take = std::min(count - done, length - offset);
      set_.read_doc(valid_docs_[i], offset, take, out + done);
      done += take; position += take;
    } else {
      out[done++] = eos_;
      ++position;
    }
  }
  return done;
}

}  // namespace wb
