// Shard files: exact round trip, and damaged files refused at open with the offset at fault.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/data/data_error.hpp"
#include "core/data/shard_file.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb;
using wb::test::recipe_dir;

namespace {
shard_contents sample_contents(uint32_t docs, uint32_t vocab) {
  shard_contents c;
  for (uint32_t d = 0; d < docs; ++d) {
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < 3 + d % 5; ++i) ids.push_back((d * 7 + i * 13) % vocab);
    c.add_document(ids);
  }
  return c;
}
const fingerprint_bytes fp = fingerprint_from_hex(std::string(64, 'a'));

void flip_byte(const std::string& path, std::streamoff at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char c;
  f.get(c);
  f.seekp(at);
  f.put(char(c ^ 0x40));
}
}  // namespace

TEST_CASE("a shard reads back exactly what was written, in 16 and 32 bits", "[data][shard]") {
  recipe_dir dir;
  for (uint32_t vocab : {300u, 128256u}) {
    auto c = sample_contents(50, vocab);
    shard_write("s.wbtok", c, vocab, fp);
    shard_reader r("s.wbtok");
    CHECK(r.documents() == 50);
    CHECK(r.tokens() == c.tokens.size());
    CHECK(r.vocab_size() == vocab);
    CHECK(r.fingerprint() == fp);
    std::vector<uint32_t> back(c.tokens.size());
    r.read(0, back.size(), back.data());
    CHECK(back == c.tokens);
    CHECK(r.doc_length(3) == 6);
    CHECK(r.token(r.doc_begin(1)) == 7);
  }
}

TEST_CASE("a truncated shard is refused naming where it ends", "[data][shard]") {
  recipe_dir dir;
  shard_write("s.wbtok", sample_contents(50, 300), 300, fp);
  auto size = std::filesystem::file_size("s.wbtok");
  std::filesystem::resize_file("s.wbtok", size - 10);
  REQUIRE_THROWS_AS(shard_reader("s.wbtok"), data_error);
  try { shard_reader r("s.wbtok"); } catch (data_error& e) {
    CHECK(std::string(e.what()) == "s.wbtok: truncated at byte " + std::to_string(size - 10) +
                                       ": the header promises " + std::to_string(size) + " bytes");
  }
}

TEST_CASE("a flipped byte in the tokens is refused naming its block", "[data][shard]") {
  recipe_dir dir;
  shard_write("s.wbtok", sample_contents(50, 300), 300, fp);
  flip_byte("s.wbtok", 128 + 51 * 8 + 4);
  try {
    shard_reader r("s.wbtok");
    FAIL("opened a corrupted shard");
  } catch (data_error& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("s.wbtok: checksum mismatch in bytes 128-") &&
                             Catch::Contains("(block 0): the file is corrupted; prepare it again"));
  }
}

TEST_CASE("a flipped byte in the header is refused", "[data][shard]") {
  recipe_dir dir;
  shard_write("s.wbtok", sample_contents(5, 300), 300, fp);
  flip_byte("s.wbtok", 20);
  CHECK_THROWS_WITH(shard_reader("s.wbtok"), "s.wbtok: header checksum mismatch at bytes 0-127: the file is corrupted");
}

TEST_CASE("a file that is not a shard is refused", "[data][shard]") {
  recipe_dir dir;
  dir.write("s.wbtok", std::string(200, 'x'));
  CHECK_THROWS_WITH(shard_reader("s.wbtok"), "s.wbtok: not a wb token shard (bad magic at byte 0)");
}

TEST_CASE("a shard of a newer format version is refused", "[data][shard]") {
  recipe_dir dir;
  shard_write("s.wbtok", sample_contents(5, 300), 300, fp);
  flip_byte("s.wbtok", 8);  // version 1 -> 0x41 = 65: newer than this wb
  CHECK_THROWS_WITH(shard_reader("s.wbtok"),
                    "s.wbtok: shard format version 65 is newer than this wb reads (1); upgrade wb");
}

TEST_CASE("a token id outside the vocabulary is refused when written", "[data][shard]") {
  recipe_dir dir;
  shard_contents c;
  c.add_document({1, 2, 300});
  CHECK_THROWS_WITH(shard_write("s.wbtok", c, 300, fp),
                    "s.wbtok: token id 300 of token 2 is outside the vocabulary (300)");
}
