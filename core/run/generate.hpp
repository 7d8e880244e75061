// Using a trained model: next-token logits, text generation (greedy or temperature sampling,
// seeded), and the mean next-token loss over a token sequence. No KV cache: each new token reruns
// the context (at most seq_len tokens), which is what the small models wb trains on a CPU need.
#pragma once
#include <cstdint>
#include <vector>

#include "core/model/model.hpp"

namespace wb {

// Logits (V) for the token after `context` (the last seq_len tokens of it are used).
std::vector<float> next_token_logits(const model& m, compute_backend& backend, const std::vector<int32_t>& context);

struct sample_options {
  int max_new_tokens = 64;
  double temperature = 0;  // 0: greedy
  uint64_t seed = 0;
  int32_t stop_id = -1;    // end of text: stop when produced
};

std::vector<int32_t> generate(const model& m, compute_backend& backend, std::vector<int32_t> context,
                              const sample_options& o);

struct sequence_loss {
  double mean = 0;      // mean next-token cross-entropy
  long long targets = 0;
};

// Over windows of seq_len + 1 tokens stepping by seq_len, so each token after the first is
// predicted exactly once.
sequence_loss mean_next_token_loss(const model& m, compute_backend& backend, const std::vector<int32_t>& ids);

}  // namespace wb
