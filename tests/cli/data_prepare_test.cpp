// `wb data prepare` and `wb data inspect` as a user runs them, with a tokenizer wb trains.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support/recipe_fixture.hpp"
#include "tests/support/run_command.hpp"

using namespace wb::test;

namespace {
std::string wb_cmd(const std::string& args) { return wb_binary() + " " + args; }

// A folder with a small corpus and a tokenizer trained on it.
struct corpus {
  recipe_dir dir;
  corpus() {
    for (int i = 0; i < 12; ++i)
      dir.write("text/doc" + std::to_string(i) + ".txt",
                "Document " + std::to_string(i) + ": 日本語の文書と English text, 12 + " + std::to_string(i) +
                    " = " + std::to_string(12 + i) + ".\n");
    auto r = run_command(wb_cmd("data tokenizer-train --vocab 300 --in text/doc0.txt text/doc1.txt text/doc2.txt "
                                "--out tok.json"));
    REQUIRE(r.status == 0);
  }
};
}  // namespace

TEST_CASE("wb data prepare makes a shard set that inspect verifies and decodes", "[cli][data]") {
  corpus c;
  auto p = run_command(wb_cmd("data prepare --tokenizer tok.json --in text --out set"));
  REQUIRE(p.status == 0);
  CHECK_THAT(p.out, Catch::StartsWith("prepared set: 12 documents, "));
  auto i = run_command(wb_cmd("data inspect set --tokenizer tok.json --sample 3"));
  REQUIRE(i.status == 0);
  CHECK_THAT(i.out, Catch::Contains("set: 12 documents,") && Catch::Contains("all verified") &&
                        Catch::Contains("vocabulary 300") &&
                        Catch::Contains("text: Document 11: 日本語の文書と English text, 12 + 11 = 23."));  // files in sorted order
}

TEST_CASE("wb data inspect refuses a corrupted shard naming the bytes", "[cli][data]") {
  corpus c;
  REQUIRE(run_command(wb_cmd("data prepare --tokenizer tok.json --in text --out set")).status == 0);
  {
    std::fstream f("set/shard-00000.wbtok", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x7f');
  }
  auto i = run_command(wb_cmd("data inspect set"));
  CHECK(i.status == 1);
  CHECK_THAT(i.out, Catch::StartsWith("wb data: set/shard-00000.wbtok: checksum mismatch in bytes 128-"));
}

TEST_CASE("wb data prepare stops at an invalid JSON line, or skips it when asked", "[cli][data]") {
  corpus c;
  c.dir.write("a.jsonl", "{\"text\": \"one\"}\n{broken\n{\"text\": \"three\"}\n");
  auto stop = run_command(wb_cmd("data prepare --tokenizer tok.json --format jsonl --in a.jsonl --out set"));
  CHECK(stop.status == 1);
  CHECK_THAT(stop.out, Catch::StartsWith("wb data: a.jsonl:2: invalid JSON (") &&
                           Catch::EndsWith("; fix the line or pass --on-bad-line skip\n"));
  auto skip = run_command(wb_cmd("data prepare --tokenizer tok.json --format jsonl --in a.jsonl --out set "
                                 "--on-bad-line skip"));
  CHECK(skip.status == 0);
  CHECK_THAT(skip.out, Catch::StartsWith("prepared set: 2 documents,") && Catch::Contains("skipped 1 bad lines") &&
                           Catch::Contains("a.jsonl:2: invalid JSON"));
}

TEST_CASE("wb data inspect refuses a tokenizer other than the shard set's", "[cli][data]") {
  corpus c;
  REQUIRE(run_command(wb_cmd("data prepare --tokenizer tok.json --in text --out set")).status == 0);
  REQUIRE(run_command(wb_cmd("data tokenizer-train --vocab 280 --in text/doc5.txt --out other.json")).status == 0);
  auto i = run_command(wb_cmd("data inspect set --tokenizer other.json"));
  CHECK(i.status == 1);
  CHECK_THAT(i.out, Catch::StartsWith("wb data: other.json has fingerprint ") &&
                        Catch::Contains(", the shard set was made with "));
}

TEST_CASE("wb data prepare run again keeps what it finished", "[cli][data]") {
  corpus c;
  REQUIRE(run_command(wb_cmd("data prepare --tokenizer tok.json --in text --out set")).status == 0);
  auto again = run_command(wb_cmd("data prepare --tokenizer tok.json --in text --out set"));
  CHECK(again.status == 0);
  CHECK_THAT(again.out, Catch::EndsWith("0 shards written, 1 kept from an earlier run\n"));
}

TEST_CASE("wb show reports planned epochs for prepared sources", "[cli][data][show]") {
  corpus c;
  REQUIRE(run_command(wb_cmd("data prepare --tokenizer tok.json --in text --out set")).status == 0);
  c.dir.write("r.lua", edited("      ja = source { path = \"ja\", weight = 0.6 },\n", "      ja = source { path = \"set\", weight = 0.6 },\n"));
  auto s = run_command(wb_cmd("show r.lua"));
  REQUIRE(s.status == 0);
  CHECK_THAT(s.out, Catch::Contains("-- source ja: 60.0% of tokens, 1.229e+04 planned of ") &&
                        Catch::Contains(" epochs\n") &&
                        Catch::Contains("-- source en: 40.0% of tokens, 8192 planned; shard set not prepared"));
}
