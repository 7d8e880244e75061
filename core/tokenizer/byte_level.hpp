// GPT-2's byte-to-unicode map: each of the 256 bytes gets a printable character so that a BPE
// vocabulary is a set of strings. Bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF map to themselves; the
// other 68 map to U+0100.. in byte order. Source: openai/gpt-2 src/encoder.py bytes_to_unicode().
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wb {

uint32_t byte_to_unicode(uint8_t b);

// The byte that a code point stands for, or -1 when it is not in the byte-level alphabet.
int unicode_to_byte(uint32_t cp);

// Raw bytes -> the UTF-8 text of their byte-level characters ("hi there" -> "hiĠthere").
std::string byte_level_encode(std::string_view bytes);

// The reverse; nullopt when the text is not valid UTF-8 or holds a character outside the alphabet.
std::optional<std::string> byte_level_decode(std::string_view text);

}  // namespace wb
