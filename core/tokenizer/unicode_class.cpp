// unicode_class: the pre-tokenizer's view of one code point, a 64 KiB table for the Basic
// Multilingual Plane (built once from the generated ranges) and a binary search above it.
#include <algorithm>
#include <array>
#include <memory>

#include "core/tokenizer/unicode_tables.hpp"

namespace wb {
namespace {

bool in_ranges(const code_point_range* rs, size_t count, uint32_t cp) {
  const code_point_range* end = rs + count;
  auto it = std::upper_bound(rs, end, cp, [](uint32_t c, const code_point_range& r) { return c < r.first; });
  return it != rs && cp <= (it - 1)->last;
}

char_class class_by_search(uint32_t cp) {
  if (in_ranges(unicode_letter_ranges, unicode_letter_ranges_count, cp)) return char_class::letter;
  if (in_ranges(unicode_number_ranges, unicode_number_ranges_count, cp)) return char_class::number;
  if (in_ranges(unicode_white_space_ranges, unicode_white_space_ranges_count, cp)) return char_class::white_space;
  return char_class::other;
}

const std::array<char_class, 0x10000>& bmp_table() {
  static const auto table = [] {
    auto t = std::make_unique<std::array<char_class, 0x10000>>();
    for (uint32_t cp = 0; cp < 0x10000; ++cp) (*t)[cp] = class_by_search(cp);
    return t;
  }();
  return *table;
}

}  // namespace

char_class unicode_class(uint32_t cp) {
  if (cp < 0x10000) return bmp_table()[cp];
  if (cp > 0x10FFFF) return char_class::other;
  return class_by_search(cp);
}

}  // namespace wb
