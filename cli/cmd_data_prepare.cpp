// `wb data prepare` and `wb data inspect`: corpora into verified shard sets, and what a shard set
// holds (counts, tokenizer, a decoded sample).
#include <chrono>
#include <cstdio>
#include <mutex>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

#include "cli/data_commands.hpp"
#include "core/data/data_error.hpp"
#include "core/data/prepare.hpp"
#include "core/data/shard_set.hpp"
#include "core/data/tokenizer_encoder.hpp"
#include "core/tokenizer/tokenizer_json.hpp"

namespace wb {
namespace {

struct prepare_args {
  std::string tokenizer, out, format = "text", field = "text", on_bad_line = "stop";
  std::vector<std::string> inputs;
  int threads = 2;
  double shard_mb = 16;
};

void draw_progress(uint64_t done, uint64_t total, double seconds) {
  double mb = double(done) / 1e6, rate = seconds > 0 ? mb / seconds : 0;
  int width = 30, filled = total ? int(double(width) * double(done) / double(total)) : width;
  std::fprintf(stderr, "\rprepare [%s%s] %5.1f%%  %.1f/%.1f MB  %.1f MB/s ", std::string(size_t(filled), '#').c_str(),
               std::string(size_t(width - filled), ' ').c_str(), total ? 100.0 * double(done) / double(total) : 100.0,
               mb, double(total) / 1e6, rate);
}

int run_prepare(const prepare_args& a) {
  tokenizer tok = tokenizer_load(a.tokenizer);
  document_encoder encoder = tokenizer_document_encoder(tok);
  prepare_options o;
  o.inputs = a.inputs;
  o.out_dir = a.out;
  o.format = a.format;
  o.field = a.field;
  o.skip_bad_lines = a.on_bad_line == "skip";
  o.threads = a.threads;
  o.shard_bytes = uint64_t(a.shard_mb * 1e6);
  bool tty = isatty(2);
  auto start = std::chrono::steady_clock::now();
  std::mutex draw;
  auto progress = [&](uint64_t done, uint64_t total) {
    if (!tty) return;
    std::lock_guard lock(draw);
    draw_progress(done, total, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  prepare_report r = data_prepare(o, encoder, progress);
  if (tty) std::fputc('\n', stderr);
  std::printf("prepared %s: %llu documents, %llu tokens from %.1f MB in %.1f s (%.1f MB/s); %zu shards written, "
              "%zu kept from an earlier run\n",
              a.out.c_str(), (unsigned long long)r.documents, (unsigned long long)r.tokens, double(r.input_bytes) / 1e6,
              r.seconds, double(r.input_bytes) / 1e6 / std::max(r.seconds, 1e-9), r.shards_written, r.shards_reused);
  if (r.bad_lines) {
    std::printf("skipped %llu bad lines, first:\n", (unsigned long long)r.bad_lines);
    for (auto& e : r.bad_line_examples) std::printf("  %s\n", e.c_str());
  }
  return 0;
}

int run_inspect(const std::string& dir, const std::string& tokenizer_path, int sample) {
  shard_set set(dir);  // verifies every shard
  auto& m = set.manifest();
  std::printf("%s: %llu documents, %llu tokens, %.1f MB of input (%.2f bytes per token), %zu shards, all verified\n",
              dir.c_str(), (unsigned long long)m.documents, (unsigned long long)m.tokens, double(m.input_bytes) / 1e6,
              m.tokens ? double(m.input_bytes) / double(m.tokens) : 0.0, m.shards.size());
  std::printf("tokenizer fingerprint %s, vocabulary %u, end-of-text id %u\n", m.tokenizer_fingerprint.c_str(),
              m.vocab_size, m.eos_id);
  if (sample < 0 || uint64_t(sample) >= set.documents()) return 0;
  std::vector<uint32_t> ids(set.doc_length(uint64_t(sample)));
  set.read_doc(uint64_t(sample), 0, ids.size(), ids.data());
  size_t shown = std::min<size_t>(ids.size(), 64);
  std::printf("document %d: %zu tokens\n", sample, ids.size());
  if (tokenizer_path.empty()) {
    std::string line;
    for (size_t i = 0; i < shown; ++i) line += fmt::format("{} ", ids[i]);
    std::printf("  ids: %s%s\n  (pass --tokenizer to decode)\n", line.c_str(), shown < ids.size() ? "..." : "");
    return 0;
  }
  tokenizer tok = tokenizer_load(tokenizer_path);
  if (tokenizer_fingerprint(tok) != m.tokenizer_fingerprint)
    throw data_error(fmt::format("{} has fingerprint {}, the shard set was made with {}", tokenizer_path,
                                 tokenizer_fingerprint(tok), m.tokenizer_fingerprint));
  std::vector<int32_t> head(ids.begin(), ids.begin() + long(shown));
  std::printf("  text: %s%s\n", tokenizer_decode(tok, head).c_str(), shown < ids.size() ? " ..." : "");
  return 0;
}

}  // namespace

std::function<int()> add_data_prepare_commands(CLI::App* data) {
  auto pa = std::make_shared<prepare_args>();
  auto* p = data->add_subcommand("prepare", "Tokenize text or JSON Lines into a shard set (restartable, both cores)");
  p->add_option("--tokenizer", pa->tokenizer, "HF tokenizer.json")->required();
  p->add_option("--in", pa->inputs, "Input files or folders")->required();
  p->add_option("--out", pa->out, "Shard set folder")->required();
  p->add_option("--format", pa->format, "text (each file one document) or jsonl (one document per line)")
      ->check(CLI::IsMember({"text", "jsonl"}));
  p->add_option("--field", pa->field, "JSON field holding the document text (jsonl)");
  p->add_option("--on-bad-line", pa->on_bad_line, "stop (default) or skip invalid JSON lines")
      ->check(CLI::IsMember({"stop", "skip"}));
  p->add_option("--threads", pa->threads, "Worker threads (default 2)");
  p->add_option("--shard-mb", pa->shard_mb, "Input megabytes per shard (default 16)");

  auto dir = std::make_shared<std::string>(), tok = std::make_shared<std::string>();
  auto sample = std::make_shared<int>(0);
  auto* i = data->add_subcommand("inspect", "Show what a shard set holds and decode a sample document");
  i->add_option("dir", *dir, "Shard set folder")->required();
  i->add_option("--tokenizer", *tok, "tokenizer.json to decode the sample with");
  i->add_option("--sample", *sample, "Document to show (default 0; -1 none)");

  return [=]() -> int {
    try {
      if (p->parsed()) return run_prepare(*pa);
      if (i->parsed()) return run_inspect(*dir, *tok, *sample);
    } catch (std::exception& e) {
      std::fprintf(stderr, "wb data: %s\n", e.what());
      return 1;
    }
    return -1;
  };
}

}  // namespace wb
