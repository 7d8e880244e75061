// The training data loader: sequences of seq_len + 1 tokens packed across document boundaries,
// each global sample drawn from the source the blend schedule names, sample j of a source being
// tokens [j*T, j*T + T + 1) of its stream. A step takes `global_batch` consecutive global samples;
// data-parallel rank r reads the r-th contiguous slice of them, so ranks never overlap. The whole
// position is a loader_state of a few numbers that a checkpoint stores; restoring it continues with
// exactly the next sample.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/data/blend_schedule.hpp"
#include "core/data/shard_set.hpp"
#include "core/data/source_stream.hpp"

namespace wb {

struct loader_source {
  std::string name;
  std::string dir;  // shard set
  double weight = 1;
};

struct loader_options {
  int seq_len = 0;
  uint64_t seed = 0;
  double valid_fraction = 0;
  bool repeat = true;  // on_exhaust = "repeat"; false stops with an error when a source runs out
  int dp_rank = 0, dp_size = 1;
  std::string tokenizer_fingerprint;  // "" accepts any; else every set must match
  uint32_t vocab_size = 0;            // 0 accepts any; else ids must fit
};

struct loader_state {
  uint64_t samples = 0;                // global samples consumed
  std::vector<uint64_t> source_samples;  // per source, in loader_source order
  bool operator==(const loader_state&) const = default;
};

class data_loader {
 public:
  data_loader(std::vector<loader_source> sources, loader_options options);  // throws data_error

  // The next step's sequences for this rank: (global_batch / dp_size, seq_len + 1) row-major.
  void next_batch(int global_batch, std::vector<uint32_t>& out);
  // Also tells which source each of this rank's sequences came from.
  void next_batch(int global_batch, std::vector<uint32_t>& out, std::vector<uint32_t>& source_of_row);

  // Validation sequences of one source, in order, starting at sequence `first`; fewer (or none)
  // when the held-out part is used up.
  size_t valid_batch(size_t source, uint64_t first, size_t rows, std::vector<uint32_t>& out) const;

  loader_state state() const;
  void restore(const loader_state& s);

  size_t sources() const { return sources_.size(); }
  const loader_source& source(size_t i) const { return sources_[i]; }
  const shard_set& set(size_t i) const { return *sets_[i]; }
  const source_stream& stream(size_t i) const { return *streams_[i]; }
  // Epochs each source goes through when `tokens` are trained on in total.
  std::vector<double> planned_epochs(double tokens) const;

 private:
  std::vector<loader_source> sources_;
  loader_options options_;
  std::vector<std::unique_ptr<shard_set>> sets_;
  std::vector<std::unique_ptr<source_stream>> streams_;
  blend_schedule schedule_;
};

}  // namespace wb
