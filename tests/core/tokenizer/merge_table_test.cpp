// The open-addressing merge lookup: found pairs give rank and result, absent pairs are absent, and
// a repeated pair keeps its first rank.
#include <catch2/catch.hpp>

#include "core/tokenizer/tokenizer.hpp"

using namespace wb;

TEST_CASE("the merge table finds every pair with its rank and result and nothing else", "[tokenizer][merge_table]") {
  std::vector<bpe_merge> merges;
  for (int32_t i = 0; i < 5000; ++i) merges.push_back({i % 300, i / 300, 1000 + i});
  merges.push_back({7, 0, 99});  // repeats rank 7's pair
  merge_table t;
  t.build(merges);
  uint32_t rank = 0;
  int32_t result = 0;
  for (int32_t i = 0; i < 5000; ++i) {
    REQUIRE(t.find(i % 300, i / 300, rank, result));
    CHECK(rank == uint32_t(i));
    CHECK(result == 1000 + i);
  }
  CHECK(t.find(7, 0, rank, result));
  CHECK(rank == 7);
  CHECK(result == 1007);
  CHECK_FALSE(t.find(0, 17, rank, result));
  CHECK_FALSE(t.find(300, 0, rank, result));
  CHECK_FALSE(merge_table{}.find(0, 0, rank, result));
}
