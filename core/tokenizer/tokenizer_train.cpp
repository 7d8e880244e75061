// BPE training: count pieces, then merge pairs from a max-heap whose stale entries are skipped when
// popped (an entry is live when its count equals the pair's current count).
#include "core/tokenizer/tokenizer_train.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <queue>
#include <sstream>
#include <unordered_map>

namespace wb {
namespace {

struct word {
  std::vector<int32_t> symbols;
  int64_t count;
};

uint64_t pair_key(int32_t a, int32_t b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); }

struct heap_entry {
  int64_t count;
  uint64_t pair;
  bool operator<(const heap_entry& o) const {  // std::priority_queue keeps the greatest on top
    return count != o.count ? count < o.count : pair > o.pair;
  }
};

// Pieces of `text` with every occurrence of a special token cut out (leftmost, longest first).
void count_pieces(std::string_view text, const std::vector<std::string>& specials,
                  std::unordered_map<std::string, int64_t>& pieces) {
  auto count_plain = [&](std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      size_t e = pretokenize_next(s, i, split_pattern::llama3);
      ++pieces[std::string(s.substr(i, e - i))];
      i = e;
    }
  };
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    size_t best = 0;
    for (auto& sp : specials)
      if (sp.size() > best && text.compare(i, sp.size(), sp) == 0) best = sp.size();
    if (best) {
      count_plain(text.substr(start, i - start));
      start = i + best;
      i = start - 1;
    }
  }
  count_plain(text.substr(start));
}

class pair_counter {
 public:
  std::vector<word> words;
  std::unordered_map<uint64_t, int64_t> counts;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;  // pair -> words that held it (may be stale)
  std::priority_queue<heap_entry> heap;

  void add_word_pairs(uint32_t w, int64_t sign, std::vector<uint64_t>* changed) {
    auto& s = words[w].symbols;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t k = pair_key(s[i], s[i + 1]);
      counts[k] += sign * words[w].count;
      if (sign > 0) where[k].push_back(w);
      if (changed) changed->push_back(k);
    }
  }
  void init() {
    for (uint32_t w = 0; w < words.size(); ++w) add_word_pairs(w, +1, nullptr);
    for (auto& [k, c] : counts) heap.push({c, k});
  }
  // The best live pair, or false when none is left.
  bool pop(uint64_t& pair) {
    while (!heap.empty()) {
      heap_entry e = heap.top();
      heap.pop();
      auto it = counts.find(e.pair);
      if (it != counts.end() && it->second == e.count && e.count > 0) {
        pair = e.pair;
        return true;
      }
    }
    return false;
  }
  void merge(uint64_t pair, int32_t result) {
    int32_t a = int32_t(pair >> 32), b = int32_t(uint32_t(pair));
    std::vector<uint32_t> ws;
    ws.swap(where[pair]);
    std::vector<uint64_t> changed;
    uint32_t last = UINT32_MAX;
    std::sort(ws.begin(), ws.end());
    for (uint32_t w : ws) {
      if (w == last) continue;
      last = w;
      auto& s = words[w].symbols;
      bool holds = false;
      for (size_t i = 0; i + 1 < s.size() && !holds; ++i) holds = s[i] == a && s[i + 1] == b;
      if (!holds) continue;
      add_word_pairs(w, -1, &changed);
      size_t out = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) s[out++] = result, ++i;
        else s[out++] = s[i];
      }
      s.resize(out);
      add_word_pairs(w, +1, &changed);
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    for (uint64_t k : changed) {
      int64_t c = counts[k];
      if (c > 0) heap.push({c, k});
      else counts.erase(k);
    }
  }
};

}  // namespace

tokenizer tokenizer_train(const tokenizer_train_options& o, tokenizer_train_report* report) {
  size_t min_vocab = 256 + o.special_tokens.size();
  if (o.vocab_size < min_vocab)
    throw tokenizer_error(fmt::format("Invalid 'vocab_size' {}: expected at least {} (256 byte tokens + {} special tokens)",
                                      o.vocab_size, min_vocab, o.special_tokens.size()));
  for (auto& s : o.special_tokens)
    if (s.empty()) throw tokenizer_error("Invalid special token \"\": expected a non-empty string");
  tokenizer_train_report r;
  std::unordered_map<std::string, int64_t> pieces;
  for (auto& f : o.files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw tokenizer_error(fmt::format("{}: cannot read the training file", f));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    r.bytes += text.size();
    count_pieces(text, o.special_tokens, pieces);
  }
  for (auto& text : o.texts) {
    r.bytes += text.size();
    count_pieces(text, o.special_tokens, pieces);
  }
  r.distinct_pieces = pieces.size();

  // Words in byte order of their text, so that training does not depend on hash-map iteration order.
  std::vector<std::pair<std::string, int64_t>> sorted(pieces.begin(), pieces.end());
  std::sort(sorted.begin(), sorted.end());
  pair_counter pc;
  pc.words.reserve(sorted.size());
  for (auto& [text, count] : sorted) {
    word w{{}, count};
    for (unsigned char c : text) w.symbols.push_back(c);
    pc.words.push_back(std::move(w));
  }
  pc.init();

  tokenizer t;
  t.pattern = split_pattern::llama3;
  for (int b = 0; b < 256; ++b) t.tokens.push_back(std::string(1, char(b)));
  std::unordered_map<std::string, int32_t> ids;
  for (int b = 0; b < 256; ++b) ids.emplace(t.tokens[b], b);
  size_t target = o.vocab_size - o.special_tokens.size();
  uint64_t pair;
  while (t.tokens.size() < target && pc.pop(pair)) {
    int32_t a = int32_t(pair >> 32), b = int32_t(uint32_t(pair));
    std::string merged = t.tokens[a] + t.tokens[b];
    // Two merges can spell the same bytes ((a,bc) and (ab,c)): the token keeps its first id.
    auto [it, fresh] = ids.emplace(merged, int32_t(t.tokens.size()));
    if (fresh) t.tokens.push_back(merged);
    t.merges.push_back({a, b, it->second});
    pc.merge(pair, it->second);
  }
  r.merges = t.merges.size();
  for (auto& s : o.special_tokens) {
    t.added.push_back({int32_t(t.tokens.size()), s, true});
    t.tokens.push_back(s);
  }
  tokenizer_index(t);
  if (report) *report = r;
  return t;
}

}  // namespace wb
