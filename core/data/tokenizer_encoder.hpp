// The bridge from a loaded tokenizer to the data layer's document_encoder: one bpe_encoder per
// thread (each owns its cache), special tokens in document text encoded as plain text (a corpus
// must not be able to inject <|end_of_text|>), and the end-of-text id that separates documents.
#pragma once
#include <optional>

#include "core/data/prepare.hpp"
#include "core/tokenizer/tokenizer.hpp"

namespace wb {

// The id that ends a document: <|end_of_text|> (Llama 3), <|endoftext|> (GPT-2) or </s>.
std::optional<int32_t> tokenizer_eos_id(const tokenizer& t);

// `t` must outlive the encoder. Throws data_error when the tokenizer has no end-of-text token.
document_encoder tokenizer_document_encoder(const tokenizer& t);

}  // namespace wb
