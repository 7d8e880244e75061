// The GPT-2 byte-to-unicode map (openai/gpt-2 encoder.py bytes_to_unicode) and its inverse.
#include <catch2/catch.hpp>

#include "core/tokenizer/byte_level.hpp"

using namespace wb;

TEST_CASE("printable bytes map to themselves and the other 68 to U+0100 onwards in byte order", "[tokenizer][byte_level]") {
  CHECK(byte_to_unicode('!') == '!');
  CHECK(byte_to_unicode('~') == '~');
  CHECK(byte_to_unicode(0xA1) == 0xA1);
  CHECK(byte_to_unicode(0xFF) == 0xFF);
  CHECK(byte_to_unicode(0x00) == 0x100);
  CHECK(byte_to_unicode('\n') == 0x10A);  // Ċ
  CHECK(byte_to_unicode(' ') == 0x120);   // Ġ
  CHECK(byte_to_unicode(0x7F) == 0x121);
  CHECK(byte_to_unicode(0xA0) == 0x142);
  CHECK(byte_to_unicode(0xAD) == 0x143);  // the last of the 68
}

TEST_CASE("the byte-level map is a bijection on the 256 bytes", "[tokenizer][byte_level]") {
  for (int b = 0; b < 256; ++b) CHECK(unicode_to_byte(byte_to_unicode(uint8_t(b))) == b);
  CHECK(unicode_to_byte(0x144) == -1);
  CHECK(unicode_to_byte(0x3042) == -1);
}

TEST_CASE("byte-level text encodes bytes and decodes back, refusing characters outside the alphabet", "[tokenizer][byte_level]") {
  CHECK(byte_level_encode("hi there\n") == "hiĠthereĊ");
  CHECK(byte_level_encode("\xE3\x81\x82") == "ãģĤ");  // あ
  CHECK(byte_level_decode("hiĠthereĊ") == std::optional<std::string>("hi there\n"));
  CHECK(byte_level_decode("ãģĤ") == std::optional<std::string>("\xE3\x81\x82"));
  CHECK(byte_level_decode("あ") == std::nullopt);
  CHECK(byte_level_decode("a b") == std::nullopt);  // ' ' itself is not in the alphabet
}
