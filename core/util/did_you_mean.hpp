// Near-miss suggestions for unknown names ("microbach" -> "microbatch").
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace wb {

// Levenshtein distance with unit costs for insert, delete and substitute.
size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate within a distance that grows with the word's length (1 for short words,
// up to 3), or "" when nothing is close enough to be a plausible typo.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// "a, b or c"
std::string join_or(const std::vector<std::string>& words, const std::string& last = " or ");

}  // namespace wb
