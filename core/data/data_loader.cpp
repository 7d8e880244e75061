// Blended, packed, rank-sliced batches; see the header.
#include "core/data/data_loader.hpp"

#include <fmt/format.h>

#include "core/data/data_error.hpp"

namespace wb {

namespace {
std::vector<double> weights_of(const std::vector<loader_source>& sources) {
  std::vector<double> w;
  for (auto& s : sources) w.push_back(s.weight);
  return w;
}
}  // namespace

data_loader::data_loader(std::vector<loader_source> sources, loader_options options)
    : sources_(std::move(sources)), options_(std::move(options)), schedule_(weights_of(sources_)) {
  if (sources_.empty()) throw data_error("the data mix has no sources");
  if (options_.seq_len <= 0) throw data_error("seq_len must be positive");
  for (uint32_t i = 0; i < sources_.size(); ++i) {
    auto& src = sources_[i];
    auto set = std::make_unique<shard_set>(src.dir);
    auto& m = set->manifest();
    if (!options_.tokenizer_fingerprint.empty() && m.tokenizer_fingerprint != options_.tokenizer_fingerprint)
      throw data_error(fmt::format("source '{}' ({}) was tokenized with tokenizer {}, but the recipe's tokenizer is {}; "
                                   "prepare it again with the recipe's tokenizer", src.name, src.dir,
                                   m.tokenizer_fingerprint, options_.tokenizer_fingerprint));
    if (options_.vocab_size && m.vocab_size > options_.vocab_size)
      throw data_error(fmt::format("source '{}' ({}) has a vocabulary of {} tokens, the model only {}", src.name,
                                   src.dir, m.vocab_size, options_.vocab_size));
    auto stream = std::make_unique<source_stream>(*set, options_.seed, i, options_.valid_fraction);
    if (stream->epoch_tokens() <= stream->train_documents() || stream->train_documents() == 0)
      throw data_error(fmt::format("source '{}' ({}) has weight {} but no training tokens: {} documents, {} held out; "
                                   "add data or remove the source", src.name, src.dir, src.weight, set->documents(),
                                   stream->valid_documents()));
    sets_.push_back(std::move(set));
    streams_.push_back(std::move(stream));
  }
}

void data_loader::next_batch(int global_batch, std::vector<uint32_t>& out) {
  std::vector<uint32_t> sources;
  next_batch(global_batch, out, sources);
}

void data_loader::next_batch(int global_batch, std::vector<uint32_t>& out, std::vector<uint32_t>& source_of_row) {
  if (global_batch % options_.dp_size != 0)
    throw data_error(fmt::format("global batch {} does not split over {} data-parallel ranks", global_batch,
                                 options_.dp_size));
  const uint64_t T = uint64_t(options_.seq_len);
  int rows = global_batch / options_.dp_size;
  int first = options_.dp_rank * rows;
  out.resize(size_t(rows) * (T + 1));
  source_of_row.resize(size_t(rows));
  // Every rank walks the whole global batch through the schedule (cheap) so all agree on counts;
  // only its own slice is read.
  for (int i = 0; i < global_batch; ++i) {
    uint32_t d = schedule_.next();
    uint64_t j = schedule_.counts()[d] - 1;  // this source's sample index
    if (i < first || i >= first + rows) continue;
    auto& stream = *streams_[d];
    if (!options_.repeat && (j + 1) * T + 1 > stream.epoch_tokens())
      throw data_error(fmt::format("source '{}' ran out after one epoch ({} tokens) at global sample {}; set "
                                   "data.on_exhaust = \"repeat\" or add data", sources_[d].name, stream.epoch_tokens(),
                                   schedule_.position() - 1));
    stream.read(j * T, T + 1, out.data() + size_t(i - first) * (T + 1));
    source_of_row[size_t(i - first)] = d;
  }
}

size_t data_loader::valid_batch(size_t source, uint64_t first, size_t rows, std::vector<uint32_t>& out) const {
  const uint64_t T = uint64_t(options_.seq_len);
  out.resize(rows * (T + 1));
  size_t done = 0;
  for (; done < rows; ++done) {
    uint64_t got = streams_[source]->read_valid((first + done) * T, T + 1, out.data() + done * (T + 1));
    if (got < T + 1) break;
  }
  out.resize(done * (T + 1));
  return done;
}

loader_state data_loader::state() const { return {schedule_.position(), schedule_.counts()}; }

void data_loader::restore(const loader_state& s) {
  if (s.source_samples.size() != sources_.size())
    throw data_error(fmt::format("the saved data position has {} sources, the recipe's mix {}", s.source_samples.size(),
                                 sources_.size()));
  schedule_.restore(s.samples, s.source_samples);
}

std::vector<double> data_loader::planned_epochs(double tokens) const {
  std::vector<double> e;
  for (size_t i = 0; i < sources_.size(); ++i)
    e.push_back(tokens * schedule_.weights()[i] / double(streams_[i]->epoch_tokens()));
  return e;
}

}  // namespace wb
