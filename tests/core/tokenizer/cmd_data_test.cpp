// `wb data encode|decode|tokenizer-train` end to end through the wb binary (cli/cmd_data.cpp): the
// output format, exit status 1 and the exact message for each user error. Lives here because it
// tests the tokenizer through its command; fixture.hpp is the tokenizer.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "fixture.hpp"

namespace fs = std::filesystem;

namespace {

struct result {
  int status;
  std::string out, err;
};

struct scratch {
  fs::path dir = fs::temp_directory_path() / ("wb-cmd-data-test-" + std::to_string(getpid()));
  scratch() {
    fs::create_directories(dir);
    write("tok.json", fixture_tokenizer_json().dump());
  }
  ~scratch() { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  result wb(const std::string& args) const {
    std::string err_file = path("stderr.txt");
    std::string cmd = "cd '" + dir.string() + "' && '" WB_BINARY "' " + args + " 2>'" + err_file + "'";
    result r{-1, "", ""};
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    int status = pclose(p);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream e(err_file);
    r.err.assign(std::istreambuf_iterator<char>(e), {});
    return r;
  }
};

}  // namespace

TEST_CASE("wb data encode prints one line of ids per input line and decode gives the lines back", "[tokenizer][cli]") {
  scratch s;
  s.write("in.txt", "tell the shell\nhello<|end|>\n\n the");
  auto enc = s.wb("data encode --tokenizer tok.json in.txt");
  CHECK(enc.status == 0);
  CHECK(enc.out == "116 260 258 32 115 257 259\n257 259 111 264\n\n258\n");
  s.write("ids.txt", enc.out);
  auto dec = s.wb("data decode --tokenizer tok.json ids.txt");
  CHECK(dec.status == 0);
  CHECK(dec.out == "tell the shell\nhello<|end|>\n\n the\n");
}

TEST_CASE("wb data encode --text encodes the whole input, newlines included, and reads stdin", "[tokenizer][cli]") {
  scratch s;
  s.write("in.txt", "the\nthe");
  CHECK(s.wb("data encode --tokenizer tok.json --text < in.txt").out == "116 257 10 116 257\n");
  CHECK(s.wb("data encode --tokenizer tok.json --no-special --text in.txt").out == "116 257 10 116 257\n");
}

TEST_CASE("wb data encode warns about invalid UTF-8 and still encodes every byte", "[tokenizer][cli][utf8]") {
  scratch s;
  s.write("in.txt", "ok\nthe\xFF\n");
  auto r = s.wb("data encode --tokenizer tok.json in.txt");
  CHECK(r.status == 0);
  CHECK(r.out == "111 107\n116 257 255\n");
  CHECK(r.err == "wb: in.txt:2: 1 bytes of invalid UTF-8 encoded as raw byte tokens (docs/tokenizer.md)\n");
}

TEST_CASE("wb data reports unreadable files, malformed tokenizer.json and unknown ids with status 1", "[tokenizer][cli]") {
  scratch s;
  s.write("in.txt", "x\n");
  auto r = s.wb("data encode --tokenizer missing.json in.txt");
  CHECK(r.status == 1);
  CHECK(r.err == "wb: missing.json: cannot read the tokenizer file\n");
  r = s.wb("data encode --tokenizer tok.json nothere.txt");
  CHECK(r.status == 1);
  CHECK(r.err == "wb: nothere.txt: cannot read the input file\n");
  auto bad = fixture_tokenizer_json();
  bad["model"]["type"] = "Unigram";
  s.write("bad.json", bad.dump());
  r = s.wb("data encode --tokenizer bad.json in.txt");
  CHECK(r.status == 1);
  CHECK(r.err == "wb: bad.json: Invalid 'model.type' \"Unigram\": expected \"BPE\"\n");
  s.write("ids.txt", "1 2\n3 266\n");
  r = s.wb("data decode --tokenizer tok.json ids.txt");
  CHECK(r.status == 1);
  CHECK(r.err == "wb: ids.txt:2: Invalid token id '266': expected a number from 0 to 265 (the vocabulary of tok.json)\n");
  s.write("ids.txt", "1 x2\n");
  CHECK(s.wb("data decode --tokenizer tok.json ids.txt").err ==
        "wb: ids.txt:1: Invalid token id 'x2': expected a number from 0 to 265 (the vocabulary of tok.json)\n");
  s.write("ids.txt", "261\n");
  CHECK(s.wb("data decode --tokenizer tok.json ids.txt").err == "wb: ids.txt:1: token id 261 is not in the vocabulary (size 266)\n");
}

TEST_CASE("wb data tokenizer-train writes a tokenizer.json that wb data encode loads", "[tokenizer][cli][train]") {
  scratch s;
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the tokenizer learns the words it sees\n";
  s.write("corpus.txt", text);
  auto r = s.wb("data tokenizer-train --vocab 300 --in corpus.txt --out trained.json");
  CHECK(r.status == 0);
  CHECK(r.out.rfind("wrote trained.json: 287 tokens (29 merges, 2 special; asked for 300, the text ran out of pairs to merge), from "
                        "7800 bytes in 8 distinct pieces, fingerprint ", 0) == 0);
  s.write("in.txt", "the tokenizer\n");
  CHECK(s.wb("data encode --tokenizer trained.json in.txt").out.size() < 12);  // a handful of ids
  r = s.wb("data tokenizer-train --vocab 100 --in corpus.txt --out t.json");
  CHECK(r.status == 1);
  CHECK(r.err == "wb: Invalid 'vocab_size' 100: expected at least 258 (256 byte tokens + 2 special tokens)\n");
}
