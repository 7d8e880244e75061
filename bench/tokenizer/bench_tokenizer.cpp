// Encoding throughput of wb's tokenizer on a JSONL corpus (one JSON string per document), on one
// thread and on two threads that split the documents in halves, each with its own bpe_encoder (cold
// cache at the start of every repetition). Prints one line per measurement for bench/tokenizer/run:
//   load SECONDS | wb1 SECONDS BYTES TOKENS | wb2 SECONDS BYTES TOKENS
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/tokenizer/bpe_encoder.hpp"
#include "core/tokenizer/tokenizer_json.hpp"

using namespace wb;
using clock_type = std::chrono::steady_clock;

static double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

static size_t encode_range(const tokenizer& t, const std::vector<std::string>& docs, size_t begin, size_t end) {
  bpe_encoder enc(t);
  std::vector<int32_t> ids;
  size_t tokens = 0;
  for (size_t i = begin; i < end; ++i) {
    ids.clear();
    enc.encode(docs[i], ids);
    tokens += ids.size();
  }
  return tokens;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: bench_tokenizer TOKENIZER_JSON CORPUS_JSONL [REPS]\n");
    return 2;
  }
  int reps = argc > 3 ? std::atoi(argv[3]) : 1;
  auto t0 = clock_type::now();
  tokenizer tok = tokenizer_load(argv[1]);
  fmt::print("load {:.3f}\n", seconds_since(t0));
  std::vector<std::string> docs;
  size_t bytes = 0;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) docs.push_back(nlohmann::json::parse(line).get<std::string>()), bytes += docs.back().size();
  for (int r = 0; r < reps; ++r) {
    t0 = clock_type::now();
    size_t tokens = encode_range(tok, docs, 0, docs.size());
    fmt::print("wb1 {:.4f} {} {}\n", seconds_since(t0), bytes, tokens);
    t0 = clock_type::now();
    size_t half = docs.size() / 2, tokens_a = 0, tokens_b = 0;
    std::thread a([&] { tokens_a = encode_range(tok, docs, 0, half); });
    std::thread b([&] { tokens_b = encode_range(tok, docs, half, docs.size()); });
    a.join(), b.join();
    fmt::print("wb2 {:.4f} {} {}\n", seconds_since(t0), bytes, tokens_a + tokens_b);
  }
}
