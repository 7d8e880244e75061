// Near-miss suggestions.
#include <catch2/catch.hpp>

#include "core/util/did_you_mean.hpp"

using namespace wb;

TEST_CASE("edit distance counts inserts, deletes and substitutions", "[did_you_mean]") {
  CHECK(edit_distance("microbatch", "microbach") == 1);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
}

TEST_CASE("did_you_mean suggests only plausible typos", "[did_you_mean]") {
  std::vector<std::string> keys{"dp", "tp", "pp", "microbatch", "global_batch", "recompute"};
  CHECK(did_you_mean("microbach", keys) == "microbatch");
  CHECK(did_you_mean("globalbatch", keys) == "global_batch");
  CHECK(did_you_mean("tpp", keys) == "tp");
  CHECK(did_you_mean("momentum", keys) == "");
}

TEST_CASE("join_or reads as a sentence", "[did_you_mean]") {
  CHECK(join_or({"a"}) == "a");
  CHECK(join_or({"a", "b"}) == "a or b");
  CHECK(join_or({"a", "b", "c"}) == "a, b or c");
}
