// Thread-local encoders over a shared tokenizer.
#include "core/data/tokenizer_encoder.hpp"

#include <memory>
#include <unordered_map>

#include "core/data/data_error.hpp"
#include "core/tokenizer/bpe_encoder.hpp"

namespace wb {

std::optional<int32_t> tokenizer_eos_id(const tokenizer& t) {
  for (const char* name : {"<|end_of_text|>", "<|endoftext|>", "</s>"})
    for (auto& a : t.added)
      if (a.content == name) return a.id;
  return std::nullopt;
}

document_encoder tokenizer_document_encoder(const tokenizer& t) {
  auto eos = tokenizer_eos_id(t);
  if (!eos)
    throw data_error("the tokenizer has no end-of-text token (<|end_of_text|>, <|endoftext|> or </s>) to separate "
                     "documents; add one as a special token");
  document_encoder e;
  e.vocab_size = uint32_t(t.vocab_size());
  e.eos_id = uint32_t(*eos);
  e.fingerprint = tokenizer_fingerprint(t);
  const tokenizer* tok = &t;
  e.encode = [tok](std::string_view text, std::vector<uint32_t>& ids) {
    // One encoder per thread and tokenizer: its cache is not shared between threads.
    thread_local std::unordered_map<const tokenizer*, std::unique_ptr<bpe_encoder>> encoders;
    auto& enc = encoders[tok];
    if (!enc) enc = std::make_unique<bpe_encoder>(*tok);
    thread_local std::vector<int32_t> scratch;
    scratch.clear();
    enc->encode(text, scratch, /*allow_special=*/false);
    ids.insert(ids.end(), scratch.begin(), scratch.end());
  };
  return e;
}

}  // namespace wb
