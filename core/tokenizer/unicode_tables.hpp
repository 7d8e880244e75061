// Code point classes for the pre-tokenizer: \p{L}, \p{N} and \s (White_Space), generated from
// python3's unicodedata by scripts/gen-unicode-tables.py into unicode_tables.cpp. Limit: the Unicode
// version is that of the generating python (see unicode_tables_version); code points assigned later
// are neither letters nor numbers here.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wb {

struct code_point_range {
  uint32_t first, last;  // inclusive
};

extern const char* const unicode_tables_version;
extern const code_point_range unicode_letter_ranges[];
extern const size_t unicode_letter_ranges_count;
extern const code_point_range unicode_number_ranges[];
extern const size_t unicode_number_ranges_count;
extern const code_point_range unicode_white_space_ranges[];
extern const size_t unicode_white_space_ranges_count;

// The class of one code point as the pre-tokenizer sees it. Bytes of invalid UTF-8 are `other`.
enum class char_class : uint8_t { other, letter, number, white_space };

char_class unicode_class(uint32_t cp);

}  // namespace wb
