// The generated code point classes (scripts/gen-unicode-tables.py) as the split regexes see them.
#include <catch2/catch.hpp>

#include "core/tokenizer/unicode_tables.hpp"

using namespace wb;

TEST_CASE("letters are General_Category L in every plane, including modifier and other letters", "[tokenizer][unicode]") {
  for (uint32_t cp : {0x61u, 0x5Au, 0xE9u, 0x17Fu, 0x3042u, 0x30FCu /* ー Lm */, 0x65E5u, 0xFF21u, 0x20000u /* CJK ext B */})
    CHECK(unicode_class(cp) == char_class::letter);
}

TEST_CASE("numbers are General_Category N: decimal digits, letter numbers and other numbers", "[tokenizer][unicode]") {
  for (uint32_t cp : {0x30u, 0x39u, 0x663u /* ٣ */, 0xFF10u /* ０ */, 0x216Bu /* Ⅻ Nl */, 0xB2u /* ² No */, 0x1D7D8u /* 𝟘 */})
    CHECK(unicode_class(cp) == char_class::number);
}

TEST_CASE("white space is exactly the White_Space property", "[tokenizer][unicode]") {
  for (uint32_t cp : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au, 0x2028u, 0x2029u,
                      0x202Fu, 0x205Fu, 0x3000u})
    CHECK(unicode_class(cp) == char_class::white_space);
  for (uint32_t cp : {0x1Cu, 0x200Bu /* zero width space */, 0xFEFFu, 0x180Eu})
    CHECK(unicode_class(cp) == char_class::other);
}

TEST_CASE("marks, symbols, emoji, private use and code points beyond U+10FFFF are other", "[tokenizer][unicode]") {
  for (uint32_t cp : {0x301u /* combining acute */, 0x200Du /* ZWJ */, 0x21u, 0x3001u /* 、 */, 0x1F44Du, 0x1F3FDu, 0xE000u,
                      0x10FFFFu, 0x110000u, 0x1100FFu})
    CHECK(unicode_class(cp) == char_class::other);
  CHECK(std::string(unicode_tables_version) == "14.0.0");
}
