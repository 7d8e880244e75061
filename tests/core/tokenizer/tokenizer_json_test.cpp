// Loading and saving tokenizer.json: the accepted layouts, the fingerprint, and the exact text of
// the error for each kind of malformed file.
#include <catch2/catch.hpp>

#include "core/tokenizer/bpe_encoder.hpp"
#include "core/tokenizer/tokenizer_json.hpp"
#include "fixture.hpp"

using namespace wb;

static std::string load_error(const nlohmann::ordered_json& j) {
  try {
    tokenizer_from_json_text(j.dump(), "t.json");
  } catch (const tokenizer_error& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("the fixture loads with its pattern, vocabulary, merges and added tokens", "[tokenizer][json]") {
  tokenizer t = tokenizer_from_json_text(fixture_tokenizer_json().dump(), "fixture.json");
  CHECK(t.pattern == split_pattern::llama3);
  CHECK(t.vocab_size() == 266);
  CHECK(t.merges.size() == 5);
  CHECK(t.merges[2].left == 256);
  CHECK(t.merges[2].right == 257);
  CHECK(t.merges[2].result == 258);
  CHECK(t.tokens[258] == " the");
  REQUIRE(t.added.size() == 2);
  CHECK(t.added[0].special);
  CHECK_FALSE(t.added[1].special);
}

TEST_CASE("a GPT-2 style ByteLevel pre-tokenizer with use_regex selects the GPT-2 pattern", "[tokenizer][json]") {
  auto j = fixture_tokenizer_json();
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  tokenizer t = tokenizer_from_json_text(j.dump(), "t.json");
  CHECK(t.pattern == split_pattern::gpt2);
  CHECK(tokenizer_encode(t, "1234") == std::vector<int32_t>{'1', '2', '3', '4'});
  j["pre_tokenizer"]["add_prefix_space"] = true;
  CHECK(tokenizer_encode(tokenizer_from_json_text(j.dump(), "t.json"), "the") == std::vector<int32_t>{258});
}

TEST_CASE("save then load gives the same tokenizer and the same fingerprint, whatever the merge format",
          "[tokenizer][json][fingerprint]") {
  tokenizer a = tokenizer_from_json_text(fixture_tokenizer_json(false).dump(), "a.json");
  tokenizer b = tokenizer_from_json_text(fixture_tokenizer_json(true).dump(), "b.json");
  tokenizer c = tokenizer_from_json_text(tokenizer_to_json_text(a), "c.json");
  CHECK(tokenizer_fingerprint(a).size() == 64);
  CHECK(tokenizer_fingerprint(a) == tokenizer_fingerprint(b));
  CHECK(tokenizer_fingerprint(a) == tokenizer_fingerprint(c));
  CHECK(tokenizer_to_json_text(c) == tokenizer_to_json_text(a));
}

TEST_CASE("the fingerprint changes with a merge, an added token or ignore_merges", "[tokenizer][fingerprint]") {
  std::string base = tokenizer_fingerprint(tokenizer_from_json_text(fixture_tokenizer_json().dump(), "t.json"));
  auto j = fixture_tokenizer_json();
  j["model"]["merges"].erase(4);
  CHECK(tokenizer_fingerprint(tokenizer_from_json_text(j.dump(), "t.json")) != base);
  j = fixture_tokenizer_json();
  j["added_tokens"][1]["special"] = true;
  CHECK(tokenizer_fingerprint(tokenizer_from_json_text(j.dump(), "t.json")) != base);
  CHECK(tokenizer_fingerprint(tokenizer_from_json_text(fixture_tokenizer_json(false, true).dump(), "t.json")) != base);
}

TEST_CASE("malformed tokenizer.json files are refused naming the file, the key and what was expected", "[tokenizer][json]") {
  auto j = fixture_tokenizer_json();
  SECTION("model type") {
    j["model"]["type"] = "WordPiece";
    CHECK(load_error(j) == "t.json: Invalid 'model.type' \"WordPiece\": expected \"BPE\"");
  }
  SECTION("missing vocabulary") {
    j["model"].erase("vocab");
    CHECK(load_error(j) == "t.json: Invalid 'model.vocab' nothing: expected an object of token: id");
  }
  SECTION("a merge of unknown tokens") {
    j["model"]["merges"].push_back("Ġ zz");
    CHECK(load_error(j) == "t.json: Invalid 'model.merges[5]' \"Ġ zz\": expected tokens of model.vocab ('zz' is not)");
  }
  SECTION("a merge that is not a pair") {
    j["model"]["merges"][0] = "abc";
    CHECK(load_error(j) == "t.json: Invalid 'model.merges[0]' \"abc\": expected \"left right\" with one space");
  }
  SECTION("a byte without a token") {
    j["model"]["vocab"].erase("A");
    CHECK(load_error(j) == "t.json: Invalid 'model.vocab': the vocabulary has no token for byte 0x41");
  }
  SECTION("two tokens with one id") {
    j["model"]["vocab"]["zz"] = 5;
    CHECK(load_error(j) == "t.json: Invalid 'model.vocab.ą' 5: expected an id no other token has ('zz' has it)");
  }
  SECTION("a normalizer") {
    j["normalizer"] = {{"type", "NFC"}};
    CHECK(load_error(j) == "t.json: Invalid 'normalizer' \"NFC\": expected null (not supported)");
  }
  SECTION("an unknown split regex") {
    j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
    CHECK(load_error(j) == "t.json: Invalid 'pre_tokenizer.pretokenizers[0].pattern.Regex' \"\\\\s+\": expected the Llama 3 or "
                           "GPT-2 split regex (docs/tokenizer.md)");
  }
  SECTION("byte_fallback") {
    j["model"]["byte_fallback"] = true;
    CHECK(load_error(j) == "t.json: Invalid 'model.byte_fallback' true: expected null (not supported)");
  }
  SECTION("not JSON") {
    CHECK_THROWS_WITH(tokenizer_from_json_text("{\"model\": ", "t.json"),
                      Catch::StartsWith("t.json: not valid JSON: [json.exception.parse_error.101]"));
  }
  SECTION("no file") {
    CHECK_THROWS_WITH(tokenizer_load("/nonexistent/tokenizer.json"), "/nonexistent/tokenizer.json: cannot read the tokenizer file");
  }
}
