// Test support: the simplest real encoder, one id per byte (0-255) and EOS = 256, so data-layer
// tests know every token without a trained tokenizer.
#pragma once
#include "core/data/prepare.hpp"
#include "core/util/sha256.hpp"

namespace wb::test {

inline document_encoder byte_encoder() {
  document_encoder e;
  e.encode = [](std::string_view text, std::vector<uint32_t>& ids) {
    for (unsigned char c : text) ids.push_back(c);
  };
  e.vocab_size = 257;
  e.eos_id = 256;
  e.fingerprint = sha256_hex("byte-encoder");
  return e;
}

}  // namespace wb::test
