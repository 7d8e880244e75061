// BPE on one piece: a doubly linked list of symbols and a binary heap of candidate merges ordered by
// (rank, position); a popped candidate is applied only if its two symbols are still the pair it was
// made for. This is the order of HF tokenizers (word.rs) and transformers.js: lowest rank first,
// leftmost among equal ranks.
#include "core/tokenizer/bpe_encoder.hpp"

#include <algorithm>

#include "core/tokenizer/utf8.hpp"

namespace wb {
namespace {

constexpr auto heap_after = [](const auto& a, const auto& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };

// Pieces longer than this are not cached (long runs of spaces or digits-free letters are rare and unique).
constexpr size_t max_cached_piece = 256;

}  // namespace

bpe_encoder::bpe_encoder(const tokenizer& t, size_t cache_entries) : tok_(t), cache_entries_(cache_entries) {
  for (auto& a : t.added)
    if (!a.content.empty()) added_by_first_[(unsigned char)a.content[0]].push_back(&a);
  for (auto& v : added_by_first_)
    std::stable_sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->content.size() > b->content.size(); });
}

void bpe_encoder::push_candidate(int32_t pos) {
  int32_t next = symbols_[pos].next;
  if (next < 0) return;
  uint32_t rank;
  int32_t result;
  if (!tok_.merge_index.find(symbols_[pos].id, symbols_[next].id, rank, result)) return;
  heap_.push_back({rank, pos, symbols_[pos].id, symbols_[next].id, result});
  std::push_heap(heap_.begin(), heap_.end(), heap_after);
}

void bpe_encoder::merge(std::string_view piece, std::vector<int32_t>& out) {
  int32_t n = int32_t(piece.size());
  symbols_.resize(n);
  for (int32_t i = 0; i < n; ++i) symbols_[i] = {tok_.byte_ids[(unsigned char)piece[i]], i - 1, i + 1 < n ? i + 1 : -1};
  heap_.clear();
  for (int32_t i = 0; i + 1 < n; ++i) push_candidate(i);
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), heap_after);
    candidate c = heap_.back();
    heap_.pop_back();
    symbol& s = symbols_[c.pos];
    if (s.id != c.left || s.next < 0 || symbols_[s.next].id != c.right) continue;  // stale
    symbol& r = symbols_[s.next];
    r.id = -1;
    s.id = c.result;
    s.next = r.next;
    if (s.next >= 0) symbols_[s.next].prev = c.pos;
    if (s.prev >= 0) push_candidate(s.prev);
    push_candidate(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols_[i].next) out.push_back(symbols_[i].id);
}

void bpe_encoder::encode_piece(std::string_view piece, std::vector<int32_t>& out) {
  if (piece.empty()) return;
  if (piece.size() <= max_cached_piece) {
    if (auto it = cache_.find(piece); it != cache_.end()) {
      out.insert(out.end(), cache_ids_.begin() + it->second.first,
                 cache_ids_.begin() + it->second.first + it->second.second);
      return;
    }
  }
  size_t before = out.size();
  auto whole = tok_.ignore_merges ? tok_.model_ids.find(piece) : tok_.model_ids.end();
  if (whole != tok_.model_ids.end()) out.push_back(whole->second);
  else merge(piece, out);
  if (piece.size() <= max_cached_piece) {
    if (cache_.size() >= cache_entries_) cache_.clear(), cache_ids_.clear();
    cache_.emplace(std::string(piece), std::pair{uint32_t(cache_ids_.size()), uint32_t(out.size() - before)});
    cache_ids_.insert(cache_ids_.end(), out.begin() + before, out.end());
  }
}

void bpe_encoder::encode_text(std::string_view text, std::vector<int32_t>& out) {
  if (tok_.add_prefix_space && !text.empty() && text[0] != ' ') {
    prefixed_.assign(1, ' ');
    prefixed_.append(text);
    text = prefixed_;
  }
  for (size_t i = 0; i < text.size();) {
    size_t e = pretokenize_next(text, i, tok_.pattern);
    encode_piece(text.substr(i, e - i), out);
    i = e;
  }
}

size_t bpe_encoder::match_added(std::string_view text, size_t pos, bool allow_special, int32_t& id) const {
  for (auto* a : added_by_first_[(unsigned char)text[pos]])
    if ((allow_special || !a->special) && text.compare(pos, a->content.size(), a->content) == 0) {
      id = a->id;
      return a->content.size();
    }
  return 0;
}

encode_result bpe_encoder::encode(std::string_view text, std::vector<int32_t>& out, bool allow_special) {
  encode_result r;
  size_t before = out.size();
  r.invalid_utf8_bytes = utf8_invalid_bytes(text);
  size_t start = 0;
  if (!tok_.added.empty()) {
    for (size_t i = 0; i < text.size(); ++i) {
      if (added_by_first_[(unsigned char)text[i]].empty()) continue;
      int32_t id;
      if (size_t len = match_added(text, i, allow_special, id)) {
        encode_text(text.substr(start, i - start), out);
        out.push_back(id);
        start = i + len;
        i = start - 1;
      }
    }
  }
  encode_text(text.substr(start), out);
  r.tokens = out.size() - before;
  return r;
}

std::vector<int32_t> tokenizer_encode(const tokenizer& t, std::string_view text, bool allow_special) {
  bpe_encoder e(t);
  std::vector<int32_t> ids;
  e.encode(text, ids, allow_special);
  return ids;
}

}  // namespace wb
