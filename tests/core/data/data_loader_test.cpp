// The blended loader: shares match weights, order is deterministic, resume continues exactly,
// data-parallel ranks read disjoint slices, and mismatched or empty sources are refused.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "core/data/data_error.hpp"
#include "core/data/data_loader.hpp"
#include "core/data/prepare.hpp"
#include "tests/support/byte_encoder.hpp"
#include "tests/support/recipe_fixture.hpp"

using namespace wb;
using wb::test::recipe_dir;

namespace {

// Three sources whose documents are made of one letter each, so a token tells its source.
struct mix_fixture {
  recipe_dir dir;
  std::vector<loader_source> sources;
  mix_fixture(int docs_per_source = 200) {
    const char letters[] = {'a', 'b', 'c'};
    const double weights[] = {0.6, 0.3, 0.1};
    for (int s = 0; s < 3; ++s) {
      std::string name(1, letters[s]);
      std::string jsonl;
      for (int d = 0; d < docs_per_source; ++d)
        jsonl += "{\"text\": \"" + std::string(20 + (d * 37) % 90, letters[s]) + "\"}\n";
      dir.write(name + ".jsonl", jsonl);
      prepare_options o;
      o.inputs = {name + ".jsonl"};
      o.out_dir = "sets/" + name;
      o.format = "jsonl";
      data_prepare(o, test::byte_encoder());
      sources.push_back({name, "sets/" + name, weights[s]});
    }
  }
  loader_options options(int rank = 0, int size = 1) const {
    loader_options o;
    o.seq_len = 32;
    o.seed = 7;
    o.valid_fraction = 0.05;
    o.dp_rank = rank;
    o.dp_size = size;
    return o;
  }
};

uint32_t letter_of(const uint32_t* row, int n) {
  for (int i = 0; i < n; ++i)
    if (row[i] != 256) return row[i];
  return 0;
}

}  // namespace

TEST_CASE("each source's share over 1,000 sequences is within 1% of its weight", "[data][loader]") {
  mix_fixture f;
  data_loader loader(f.sources, f.options());
  std::map<uint32_t, int> rows_by_source;
  std::map<uint32_t, uint64_t> tokens_by_letter;
  std::vector<uint32_t> batch, source_of_row;
  for (int step = 0; step < 125; ++step) {
    loader.next_batch(8, batch, source_of_row);
    for (int r = 0; r < 8; ++r) {
      ++rows_by_source[source_of_row[r]];
      for (int i = 0; i < 33; ++i)
        if (batch[r * 33 + i] != 256) ++tokens_by_letter[batch[r * 33 + i]];
    }
  }
  CHECK(std::abs(rows_by_source[0] / 1000.0 - 0.6) <= 0.01);
  CHECK(std::abs(rows_by_source[1] / 1000.0 - 0.3) <= 0.01);
  CHECK(std::abs(rows_by_source[2] / 1000.0 - 0.1) <= 0.01);
  // the tokens themselves came from the source the schedule named
  uint64_t total = tokens_by_letter['a'] + tokens_by_letter['b'] + tokens_by_letter['c'];
  CHECK(std::abs(double(tokens_by_letter['a']) / double(total) - 0.6) <= 0.01);
  CHECK(std::abs(double(tokens_by_letter['c']) / double(total) - 0.1) <= 0.01);
}

TEST_CASE("sequences pack documents with EOS between them", "[data][loader]") {
  mix_fixture f;
  data_loader loader(f.sources, f.options());
  std::vector<uint32_t> batch;
  loader.next_batch(4, batch);
  int eos = 0;
  for (auto t : batch) eos += t == 256;
  CHECK(eos > 0);  // documents are 20-110 tokens, sequences 33
  CHECK(batch.size() == 4 * 33);
}

TEST_CASE("two loaders with the same seed give identical batches, and another seed differs", "[data][loader]") {
  mix_fixture f;
  data_loader a(f.sources, f.options()), b(f.sources, f.options());
  auto other = f.options();
  other.seed = 8;
  data_loader c(f.sources, other);
  std::vector<uint32_t> x, y, z;
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    a.next_batch(8, x);
    b.next_batch(8, y);
    c.next_batch(8, z);
    REQUIRE(x == y);
    differs |= x != z;
  }
  CHECK(differs);
}

TEST_CASE("a loader restored from a saved state continues with no repeat and no gap", "[data][loader][resume]") {
  mix_fixture f;
  data_loader straight(f.sources, f.options());
  std::vector<std::vector<uint32_t>> expected(60);
  for (auto& b : expected) straight.next_batch(8, b);

  for (int k : {1, 17, 40}) {  // includes positions deep into a second epoch of source c
    data_loader first(f.sources, f.options());
    std::vector<uint32_t> b;
    for (int i = 0; i < k; ++i) first.next_batch(8, b);
    loader_state saved = first.state();
    data_loader resumed(f.sources, f.options());
    resumed.restore(saved);
    for (int i = k; i < 60; ++i) {
      resumed.next_batch(8, b);
      INFO("resumed at step " << k << ", step " << i);
      REQUIRE(b == expected[i]);
    }
  }
}

TEST_CASE("data-parallel ranks read disjoint slices that make up the whole batch", "[data][loader][dp]") {
  mix_fixture f;
  data_loader whole(f.sources, f.options());
  data_loader r0(f.sources, f.options(0, 2)), r1(f.sources, f.options(1, 2));
  std::vector<uint32_t> all, a, b;
  for (int step = 0; step < 10; ++step) {
    whole.next_batch(8, all);
    r0.next_batch(8, a);
    r1.next_batch(8, b);
    REQUIRE(a.size() == 4 * 33);
    std::vector<uint32_t> joined(a);
    joined.insert(joined.end(), b.begin(), b.end());
    REQUIRE(joined == all);
  }
  CHECK(r0.state() == r1.state());
}

TEST_CASE("a source that repeats gets a new order each epoch", "[data][loader][epochs]") {
  mix_fixture f(20);
  data_loader loader(f.sources, f.options());
  auto& c = loader.stream(2);
  uint64_t epoch = c.epoch_tokens();
  std::vector<uint32_t> first(epoch), second(epoch);
  const_cast<source_stream&>(c).read(0, epoch, first.data());
  const_cast<source_stream&>(c).read(epoch, epoch, second.data());
  std::multiset<uint32_t> a(first.begin(), first.end()), b(second.begin(), second.end());
  CHECK(a == b);           // the same documents
  CHECK(first != second);  // in another order
}

TEST_CASE("with on_exhaust = stop a source that runs out stops the run with a message", "[data][loader][epochs]") {
  mix_fixture f(20);
  auto o = f.options();
  o.repeat = false;
  data_loader loader(f.sources, o);
  std::vector<uint32_t> b;
  try {
    for (int i = 0; i < 1000; ++i) loader.next_batch(8, b);
    FAIL("never ran out");
  } catch (data_error& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("source 'a' ran out after one epoch (") &&
                             Catch::EndsWith("; set data.on_exhaust = \"repeat\" or add data"));
  }
}

TEST_CASE("planned epochs follow from the budget and the weights", "[data][loader][epochs]") {
  mix_fixture f;
  data_loader loader(f.sources, f.options());
  double tokens = 1e6;
  auto e = loader.planned_epochs(tokens);
  CHECK(e[0] == Approx(tokens * 0.6 / double(loader.stream(0).epoch_tokens())));
  CHECK(e[2] == Approx(tokens * 0.1 / double(loader.stream(2).epoch_tokens())));
}

TEST_CASE("validation documents are held out of training", "[data][loader][valid]") {
  mix_fixture f;
  data_loader loader(f.sources, f.options());
  auto& s = loader.stream(0);
  CHECK(s.valid_documents() == 10);  // 5% of 200
  CHECK(s.train_documents() == 190);
  std::vector<uint32_t> rows;
  size_t n = loader.valid_batch(0, 0, 4, rows);
  CHECK(n == 4);
  CHECK(letter_of(rows.data(), 33) == 'a');
  // the held-out stream ends: asking far past it gives nothing
  CHECK(loader.valid_batch(0, 1000000, 4, rows) == 0);
}

TEST_CASE("a shard set tokenized with another tokenizer is refused, printing both", "[data][loader][bad]") {
  mix_fixture f;
  auto o = f.options();
  o.tokenizer_fingerprint = std::string(64, 'f');
  try {
    data_loader loader(f.sources, o);
    FAIL("accepted a foreign tokenizer");
  } catch (data_error& e) {
    CHECK(std::string(e.what()) == "source 'a' (sets/a) was tokenized with tokenizer " +
                                       sha256_hex("byte-encoder") + ", but the recipe's tokenizer is " +
                                       std::string(64, 'f') + "; prepare it again with the recipe's tokenizer");
  }
}

TEST_CASE("a source whose documents are all held out is refused", "[data][loader][bad]") {
  recipe_dir dir;
  dir.write("one.txt", "only one document");
  prepare_options p;
  p.inputs = {"one.txt"};
  p.out_dir = "one";
  data_prepare(p, test::byte_encoder());
  loader_options o;
  o.seq_len = 8;
  o.valid_fraction = 1.0;
  CHECK_THROWS_WITH(data_loader({{"tiny", "one", 1.0}}, o),
                    "source 'tiny' (one) has weight 1 but no training tokens: 1 documents, 1 held out; add data or "
                    "remove the source");
}

TEST_CASE("a model vocabulary smaller than the shards' is refused", "[data][loader][bad]") {
  mix_fixture f;
  auto o = f.options();
  o.vocab_size = 100;
  CHECK_THROWS_WITH(data_loader(f.sources, o), "source 'a' (sets/a) has a vocabulary of 257 tokens, the model only 100");
}
