// Encoding with the hand-written fixture (fixture.hpp): merge order, ties, ignore_merges, added
// tokens, the cache, round trips and the invalid UTF-8 policy.
#include <catch2/catch.hpp>

#include <random>

#include "core/tokenizer/bpe_encoder.hpp"
#include "core/tokenizer/tokenizer_json.hpp"
#include "core/tokenizer/utf8.hpp"
#include "fixture.hpp"

using namespace wb;
using ids = std::vector<int32_t>;

static tokenizer fixture(bool array_merges = false, bool ignore_merges = false) {
  return tokenizer_from_json_text(fixture_tokenizer_json(array_merges, ignore_merges).dump(), "fixture.json");
}

TEST_CASE("merges apply lowest rank first, so ' the' becomes one token and 'hello' three", "[tokenizer][bpe]") {
  auto t = GENERATE(false, true);  // "a b" strings and ["a","b"] arrays
  tokenizer tok = fixture(t);
  CHECK(tokenizer_encode(tok, " the") == ids{258});
  CHECK(tokenizer_encode(tok, "hello") == ids{257, 259, 'o'});  // (h,e) rank 1 beats (l,l) rank 3; no "he"+"ll"
  CHECK(tokenizer_encode(tok, "the") == ids{'t', 257});
  CHECK(tokenizer_encode(tok, "shell") == ids{'s', 257, 259});  // (h,e) before (e,ll) can form
  CHECK(tokenizer_encode(tok, "tell the") == ids{'t', 260, 258});
}

TEST_CASE("among equal ranks the leftmost pair merges first", "[tokenizer][bpe]") {
  tokenizer tok = fixture();
  CHECK(tokenizer_encode(tok, "lll") == ids{259, 'l'});
  CHECK(tokenizer_encode(tok, "llll") == ids{259, 259});
}

TEST_CASE("ignore_merges maps a piece that is itself a token straight to its id", "[tokenizer][bpe]") {
  CHECK(tokenizer_encode(fixture(false, false), "hello") == ids{257, 259, 'o'});
  CHECK(tokenizer_encode(fixture(false, true), "hello") == ids{263});
  CHECK(tokenizer_encode(fixture(false, true), "hellos") == ids{257, 259, 'o', 's'});
}

TEST_CASE("added tokens match before pre-tokenization, special ones only when specials are allowed", "[tokenizer][bpe]") {
  tokenizer tok = fixture();
  CHECK(tokenizer_encode(tok, "the<|end|> the") == ids{'t', 257, 264, 258});
  CHECK(tokenizer_encode(tok, "<|end|><|end|>") == ids{264, 264});
  CHECK(tokenizer_encode(tok, "<|end|>", false) == ids{'<', '|', 'e', 'n', 'd', '|', '>'});
  CHECK(tokenizer_encode(tok, "a<sep>b", false) == ids{'a', 265, 'b'});
  CHECK(tokenizer_encode(tok, "<|end") == ids{'<', '|', 'e', 'n', 'd'});
}

TEST_CASE("decode concatenates token bytes and added token text, and names an id outside the vocabulary",
          "[tokenizer][bpe]") {
  tokenizer tok = fixture();
  CHECK(tokenizer_decode(tok, {'t', 260, 258, 264}) == "tell the<|end|>");
  CHECK_THROWS_WITH(tokenizer_decode(tok, {1, 266}), "token id 266 is not in the vocabulary (size 266)");
  CHECK_THROWS_WITH(tokenizer_decode(tok, {261}), "token id 261 is not in the vocabulary (size 266)");
  CHECK_THROWS_WITH(tokenizer_decode(tok, {-1}), "token id -1 is not in the vocabulary (size 266)");
}

TEST_CASE("the piece cache gives the same ids as a cold encoder", "[tokenizer][bpe]") {
  tokenizer tok = fixture();
  bpe_encoder warm(tok, 4);  // a tiny cache, so that it also fills and is cleared
  std::string text = "tell the shell hello the the lll tell";
  for (int round = 0; round < 3; ++round) {
    ids a;
    warm.encode(text, a);
    CHECK(a == tokenizer_encode(tok, text));
  }
}

TEST_CASE("random valid UTF-8 round-trips through encode and decode", "[tokenizer][bpe][roundtrip]") {
  tokenizer tok = fixture();
  std::mt19937 rng(1234);
  // Code points from ASCII, Latin-1, kana, CJK, emoji and the rest of the planes (no surrogates).
  const uint32_t spans[][2] = {{0x01, 0x7F}, {0x80, 0x7FF}, {0x3040, 0x30FF}, {0x4E00, 0x9FFF}, {0x1F300, 0x1FAFF}, {0xE000, 0x10FFFF}};
  bpe_encoder enc(tok);
  for (int n = 0; n < 300; ++n) {
    std::string s;
    size_t len = rng() % 40;
    for (size_t k = 0; k < len; ++k) {
      auto& span = spans[rng() % 6];
      uint32_t cp = span[0] + rng() % (span[1] - span[0] + 1);
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
      utf8_append(s, cp);
    }
    ids out;
    auto r = enc.encode(s, out, false);
    CHECK(r.invalid_utf8_bytes == 0);
    CHECK(tokenizer_decode(tok, out) == s);
  }
}

TEST_CASE("invalid UTF-8 is encoded byte by byte through the byte alphabet, counted, and decodes to the same bytes",
          "[tokenizer][bpe][utf8]") {
  tokenizer tok = fixture();
  bpe_encoder enc(tok);
  std::string s = "the\xFF\xFE the \xE6\x97";
  ids out;
  auto r = enc.encode(s, out);
  CHECK(r.invalid_utf8_bytes == 4);
  CHECK(r.tokens == out.size());
  CHECK(out == ids{'t', 257, 0xFF, 0xFE, 258, ' ', 0xE6, 0x97});
  CHECK(tokenizer_decode(tok, out) == s);
}
