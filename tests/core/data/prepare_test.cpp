// wb data prepare's engine: text and JSON Lines in, verified shard sets out, bad lines reported by
// file and line, and a restart that keeps finished shards.
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/data/data_error.hpp"
#include "core/data/prepare.hpp"
#include "core/data/shard_set.hpp"
#include "tests/support/byte_encoder.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb;
using wb::test::recipe_dir;

namespace {
std::string doc_text(const shard_set& s, uint64_t d) {
  std::vector<uint32_t> ids(s.doc_length(d));
  s.read_doc(d, 0, ids.size(), ids.data());
  return std::string(ids.begin(), ids.end());
}
}  // namespace

TEST_CASE("text files become one document each", "[data][prepare]") {
  recipe_dir dir;
  dir.write("in/a.txt", "hello");
  dir.write("in/b.txt", "こんにちは");
  prepare_options o;
  o.inputs = {"in"};
  o.out_dir = "out";
  auto report = data_prepare(o, test::byte_encoder());
  CHECK(report.documents == 2);
  CHECK(report.tokens == 5 + 15);
  shard_set s("out");
  CHECK(s.manifest().eos_id == 256);
  CHECK(doc_text(s, 0) == "hello");
  CHECK(doc_text(s, 1) == "こんにちは");
}

TEST_CASE("JSON Lines become one document per line from the chosen field", "[data][prepare]") {
  recipe_dir dir;
  dir.write("a.jsonl", "{\"text\": \"one\"}\n{\"body\": 1, \"text\": \"two\"}\n\n{\"text\": \"three\"}\n");
  prepare_options o;
  o.inputs = {"a.jsonl"};
  o.out_dir = "out";
  o.format = "jsonl";
  auto report = data_prepare(o, test::byte_encoder());
  CHECK(report.documents == 3);
  shard_set s("out");
  CHECK(doc_text(s, 2) == "three");
}

TEST_CASE("an invalid JSON line stops the run naming file and line", "[data][prepare][bad]") {
  recipe_dir dir;
  dir.write("a.jsonl", "{\"text\": \"one\"}\n{\"text\": \"two\"\n{\"text\": \"three\"}\n");
  prepare_options o;
  o.inputs = {"a.jsonl"};
  o.out_dir = "out";
  o.format = "jsonl";
  try {
    data_prepare(o, test::byte_encoder());
    FAIL("accepted invalid JSON");
  } catch (data_error& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("a.jsonl:2: invalid JSON (") &&
                             Catch::EndsWith("; fix the line or pass --on-bad-line skip"));
  }
  CHECK_FALSE(std::filesystem::exists("out/manifest.json"));
}

TEST_CASE("invalid JSON lines can be skipped and are counted", "[data][prepare][bad]") {
  recipe_dir dir;
  dir.write("a.jsonl", "{\"text\": \"one\"}\nnot json\n{\"title\": \"no text\"}\n{\"text\": \"four\"}\n");
  prepare_options o;
  o.inputs = {"a.jsonl"};
  o.out_dir = "out";
  o.format = "jsonl";
  o.skip_bad_lines = true;
  auto report = data_prepare(o, test::byte_encoder());
  CHECK(report.documents == 2);
  CHECK(report.bad_lines == 2);
  REQUIRE(report.bad_line_examples.size() == 2);
  CHECK(report.bad_line_examples[1] == "a.jsonl:3: no string field \"text\"");
}

TEST_CASE("missing and empty inputs are refused", "[data][prepare][bad]") {
  recipe_dir dir;
  dir.write("empty.txt", "");
  prepare_options o;
  o.out_dir = "out";
  o.inputs = {"nope.txt"};
  CHECK_THROWS_WITH(data_prepare(o, test::byte_encoder()), "nope.txt: no such file or folder");
  o.inputs = {"empty.txt"};
  CHECK_THROWS_WITH(data_prepare(o, test::byte_encoder()), "empty.txt: the input is empty");
  o.inputs = {};
  CHECK_THROWS_WITH(data_prepare(o, test::byte_encoder()), "no inputs: name files or folders with --in");
}

TEST_CASE("a run again keeps finished shards and redoes damaged or missing ones", "[data][prepare][restart]") {
  recipe_dir dir;
  std::string big;
  for (int i = 0; i < 3000; ++i) big += "{\"text\": \"document number " + std::to_string(i) + "\"}\n";
  dir.write("a.jsonl", big);
  prepare_options o;
  o.inputs = {"a.jsonl"};
  o.out_dir = "out";
  o.format = "jsonl";
  o.shard_bytes = 20000;
  auto first = data_prepare(o, test::byte_encoder());
  REQUIRE(first.shards_written >= 5);
  CHECK(first.shards_reused == 0);
  // an interruption: the manifest never written, one shard lost, one half-written
  std::filesystem::remove("out/manifest.json");
  std::filesystem::remove("out/shard-00001.wbtok");
  std::filesystem::resize_file("out/shard-00002.wbtok", 100);
  auto second = data_prepare(o, test::byte_encoder());
  CHECK(second.shards_written == 2);
  CHECK(second.shards_reused == first.shards_written - 2);
  CHECK(second.documents == 3000);
  CHECK(second.tokens == first.tokens);
  shard_set s("out");
  CHECK(doc_text(s, 2999) == "document number 2999");
}

TEST_CASE("a shard set without its manifest is not opened", "[data][prepare]") {
  recipe_dir dir;
  std::filesystem::create_directories("half");
  CHECK_THROWS_WITH(shard_set("half"),
                    "half: no manifest.json: the shard set is incomplete (an interrupted wb data prepare?); run wb data "
                    "prepare again to finish it");
  CHECK_THROWS_WITH(shard_set("none"), "none: no such shard set; prepare it with wb data prepare");
}
