// tokenizer_index (the lookups encode needs) and tokenizer_decode.
#include "core/tokenizer/tokenizer.hpp"

#include <fmt/format.h>

namespace wb {

void tokenizer_index(tokenizer& t) {
  t.model_ids.clear();
  t.is_added.assign(t.tokens.size(), 0);
  for (auto& a : t.added) {
    if (a.id < 0 || size_t(a.id) >= t.tokens.size()) throw tokenizer_error(fmt::format("added token id {} out of range", a.id));
    t.is_added[a.id] = 1;
  }
  for (size_t id = 0; id < t.tokens.size(); ++id)
    if (!t.is_added[id] && !t.tokens[id].empty()) t.model_ids.emplace(t.tokens[id], int32_t(id));
  for (int b = 0; b < 256; ++b) {
    auto it = t.model_ids.find(std::string(1, char(b)));
    if (it == t.model_ids.end()) throw tokenizer_error(fmt::format("the vocabulary has no token for byte 0x{:02X}", b));
    t.byte_ids[b] = it->second;
  }
  t.merge_index.build(t.merges);
}

std::string tokenizer_decode(const tokenizer& t, const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= t.tokens.size() || (t.tokens[id].empty() && !t.is_added[id]))
      throw tokenizer_error(fmt::format("token id {} is not in the vocabulary (size {})", id, t.tokens.size()));
    out += t.tokens[id];
  }
  return out;
}

}  // namespace wb
