// Edit distance and the did-you-mean rule used for recipe keys, instance types and commands.
#include "core/util/did_you_mean.hpp"

#include <algorithm>

namespace wb {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  size_t limit = word.size() <= 3 ? 1 : word.size() <= 7 ? 2 : 3;
  std::string best;
  size_t best_distance = limit + 1;
  for (auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) { best = c; best_distance = d; }
  }
  return best;
}

std::string join_or(const std::vector<std::string>& words, const std::string& last) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) out += i + 1 == words.size() ? last : ", ";
    out += words[i];
  }
  return out;
}

}  // namespace wb
