// The strict UTF-8 decoder the pre-tokenizer and the invalid-UTF-8 policy rely on.
#include <catch2/catch.hpp>

#include "core/tokenizer/utf8.hpp"

using namespace wb;

static utf8_char decode(std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  return utf8_decode(p, p + s.size());
}

TEST_CASE("the UTF-8 decoder reads one to four byte sequences", "[tokenizer][utf8]") {
  CHECK(decode("A").cp == 'A');
  CHECK(decode("\xC3\xA9").cp == 0xE9);
  CHECK(decode("\xE6\x97\xA5").cp == 0x65E5);
  CHECK(decode("\xF0\x9F\x91\x8D").cp == 0x1F44D);
  CHECK(decode("\xF0\x9F\x91\x8D").len == 4);
}

TEST_CASE("the UTF-8 decoder rejects overlong forms, surrogates, out-of-range and truncated sequences one byte at a time",
          "[tokenizer][utf8]") {
  for (std::string_view bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE6\x97", "\x80", "\xFF"}) {
    INFO(bad.size());
    auto c = decode(bad);
    CHECK_FALSE(c.valid);
    CHECK(c.len == 1);
    CHECK(c.cp == 0x110000u + (unsigned char)bad[0]);
  }
  CHECK(utf8_invalid_bytes("ok\xFF\xFEok\xE6\x97") == 4);
  CHECK(utf8_invalid_bytes("日本語") == 0);
}
