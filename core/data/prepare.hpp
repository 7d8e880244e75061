// `wb data prepare`: tokenize text files (each file one document) or JSON Lines (one document per
// line, text in a field) into a shard set. The input is cut into work units (~shard_bytes each, at
// line boundaries) by a deterministic plan saved as plan.json; workers encode units in parallel and
// write one shard per unit atomically; manifest.json is written last. Run again after an
// interruption with the same inputs and finished shards are verified and kept, not redone.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace wb {

struct document_encoder {
  // Appends the ids of `text` to `ids`; must be safe to call from several threads at once.
  std::function<void(std::string_view text, std::vector<uint32_t>& ids)> encode;
  uint32_t vocab_size = 0;
  uint32_t eos_id = 0;
  std::string fingerprint;  // sha256 hex of the tokenizer
};

struct prepare_options {
  std::vector<std::string> inputs;  // files or directories (searched recursively, sorted)
  std::string out_dir;
  std::string format = "text";      // "text" | "jsonl"
  std::string field = "text";       // JSON field holding the document
  bool skip_bad_lines = false;      // jsonl: skip invalid lines (reported) instead of stopping
  uint64_t shard_bytes = 16ull << 20;
  int threads = 2;
};

struct prepare_report {
  uint64_t documents = 0, tokens = 0, input_bytes = 0;
  size_t shards_written = 0, shards_reused = 0;
  uint64_t bad_lines = 0;
  std::vector<std::string> bad_line_examples;  // "file:line: why", the first few
  double seconds = 0;
};

// progress(bytes_done, bytes_total) is called from worker threads now and then.
prepare_report data_prepare(const prepare_options& options, const document_encoder& encoder,
                            const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace wb
