// BPE training: the exact merges on a tiny corpus, the tie rule, determinism, special tokens, and
// that what it trains round-trips and survives tokenizer.json.
#include <catch2/catch.hpp>

#include <random>

#include "core/tokenizer/bpe_encoder.hpp"
#include "core/tokenizer/tokenizer_json.hpp"
#include "core/tokenizer/tokenizer_train.hpp"
#include "core/tokenizer/utf8.hpp"

using namespace wb;

static std::vector<std::string> merge_strings(const tokenizer& t) {
  std::vector<std::string> out;
  for (auto& m : t.merges) out.push_back(t.tokens[m.left] + "+" + t.tokens[m.right]);
  return out;
}

TEST_CASE("training merges the most frequent pair first and breaks ties by the smaller ids", "[tokenizer][train]") {
  tokenizer_train_options o;
  // Pieces: "aaab" x1, " aab" x2, " ab" x3. Pair counts: (a,b) 6, (' ',a) 5, (a,a) 4 -> merge a+b.
  // Then (a,ab) 3 and (' ',ab) 3 tie: ' ' (32) < 'a' (97) -> ' '+ab; then a+ab 3; then ' '+aab 2.
  o.texts = {"aaab aab aab ab ab ab"};
  o.special_tokens = {};
  o.vocab_size = 256 + 4;
  tokenizer t = tokenizer_train(o);
  CHECK(merge_strings(t) == std::vector<std::string>{"a+b", " +ab", "a+ab", " +aab"});
  CHECK(t.vocab_size() == 260);
  CHECK(t.tokens[256] == "ab");
  CHECK(t.tokens[258] == "aab");
  CHECK(t.tokens[259] == " aab");
}

TEST_CASE("training twice on the same text gives the same tokenizer.json and fingerprint", "[tokenizer][train]") {
  tokenizer_train_options o;
  o.texts = {"The cat sat on the mat. The dog's bone! 東京は日本の首都です。 12345 + 678 = 13023\n\tcode();\n"};
  o.vocab_size = 256 + 40 + 2;
  tokenizer a = tokenizer_train(o), b = tokenizer_train(o);
  CHECK(a.merges.size() == 40);
  CHECK(tokenizer_to_json_text(a) == tokenizer_to_json_text(b));
  CHECK(tokenizer_fingerprint(a) == tokenizer_fingerprint(b));
  REQUIRE(a.added.size() == 2);
  CHECK(a.added[0].id == 296);
  CHECK(a.added[0].content == "<|begin_of_text|>");
  CHECK(a.added[1].id == 297);
}

TEST_CASE("special tokens in the training text are cut out rather than learned", "[tokenizer][train]") {
  tokenizer_train_options o;
  o.texts = {"<|end_of_text|><|end_of_text|><|end_of_text|>xy"};
  o.vocab_size = 256 + 5 + 2;
  tokenizer t = tokenizer_train(o);
  CHECK(merge_strings(t) == std::vector<std::string>{"x+y"});  // nothing else is left to merge
  CHECK(t.vocab_size() == 256 + 1 + 2);
}

TEST_CASE("a trained tokenizer round-trips random UTF-8 and reloads from its tokenizer.json with the same ids",
          "[tokenizer][train][roundtrip]") {
  std::mt19937 rng(77);
  std::string corpus;
  const char* words[] = {"the ", "tokenizer ", "日本語", "テキスト", "👍🏽 ", "123456 ", "don't ", "\n\n", "\t", "emoji🎉"};
  for (int i = 0; i < 3000; ++i) corpus += words[rng() % 10];
  tokenizer_train_options o;
  o.texts = {corpus};
  o.vocab_size = 400;
  tokenizer t = tokenizer_train(o);
  tokenizer reloaded = tokenizer_from_json_text(tokenizer_to_json_text(t), "trained.json");
  bpe_encoder enc(t), enc2(reloaded);
  for (int n = 0; n < 200; ++n) {
    std::string s;
    for (int k = 0; k < 20; ++k) {
      if (rng() % 2) s += words[rng() % 10];
      else utf8_append(s, 0x20 + rng() % 0x3000);
    }
    std::vector<int32_t> a, b;
    enc.encode(s, a);
    enc2.encode(s, b);
    CHECK(a == b);
    CHECK(tokenizer_decode(t, a) == s);
  }
  std::vector<int32_t> ids;
  enc.encode("the tokenizer ", ids);
  CHECK(ids.size() <= 3);  // frequent words became single tokens
}

TEST_CASE("training refuses a vocabulary too small for the bytes and the special tokens", "[tokenizer][train]") {
  tokenizer_train_options o;
  o.vocab_size = 200;
  CHECK_THROWS_WITH(tokenizer_train(o), "Invalid 'vocab_size' 200: expected at least 258 (256 byte tokens + 2 special tokens)");
  o.vocab_size = 300;
  o.files = {"/nonexistent/corpus.txt"};
  CHECK_THROWS_WITH(tokenizer_train(o), "/nonexistent/corpus.txt: cannot read the training file");
}
