// Hugging Face tokenizer.json for byte-level BPE: load (GPT-2 style ByteLevel pre-tokenizer, or
// Llama 3 style Sequence[Split(regex), ByteLevel(use_regex=false)]), and save in the Llama 3 layout.
// Merges may be "a b" strings or ["a","b"] arrays. Errors name the file and the offending key:
//   tok.json: Invalid 'model.type' "WordPiece": expected "BPE"
#pragma once
#include <string>

#include "core/tokenizer/tokenizer.hpp"

namespace wb {

tokenizer tokenizer_load(const std::string& path);
tokenizer tokenizer_from_json_text(const std::string& text, const std::string& name);  // name: for messages

std::string tokenizer_to_json_text(const tokenizer& t);
void tokenizer_save(const tokenizer& t, const std::string& path);

}  // namespace wb
