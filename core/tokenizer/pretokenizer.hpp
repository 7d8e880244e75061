// The pre-tokenizer: splits text into the pieces BPE runs on, exactly as the two byte-level split
// regexes of GPT-2 and Llama 3 (cl100k) do under leftmost-first alternation, matched by hand.
// Classes: \p{L}, \p{N}, \s = White_Space (as Rust regex / Oniguruma / tiktoken; not JavaScript's \s,
// which adds U+FEFF and drops U+0085). Llama 3's (?i:'s|...) folds s to S and U+017F (Unicode simple
// case folding). Bytes of invalid UTF-8 count as one `other` character each (docs/tokenizer.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace wb {

enum class split_pattern : uint8_t { gpt2, llama3 };

// The regexes as tokenizer.json spells them (the GPT-2 one is ByteLevel's built-in use_regex).
extern const char* const gpt2_split_regex;
extern const char* const llama3_split_regex;

const char* split_pattern_name(split_pattern p);  // "gpt2", "llama3"

// The end (byte offset) of the piece that starts at `pos` < text.size().
size_t pretokenize_next(std::string_view text, size_t pos, split_pattern p);

// All pieces in order; they cover the text exactly.
std::vector<std::string_view> pretokenize(std::string_view text, split_pattern p);

}  // namespace wb
