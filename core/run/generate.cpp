// Logits, sampling and sequence loss on a model; see the header.
#include "core/run/generate.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/tensor/ops.hpp"
#include "core/tensor/tape.hpp"
#include "core/util/random.hpp"

namespace wb {

std::vector<float> next_token_logits(const model& m, compute_backend& backend, const std::vector<int32_t>& context) {
  const auto& cfg = m.config();
  if (context.empty()) throw std::invalid_argument("an empty context has no next token");
  size_t T = std::min<size_t>(context.size(), size_t(cfg.seq_len));
  tensor ids({1, int64_t(T)}, mem_category::activations, dtype::i32);
  std::copy(context.end() - long(T), context.end(), ids.i32());
  tape tp(backend, /*recording=*/false);
  var x = cfg.family == "gpt" ? gpt_hidden(tp, m, make_var(ids), recompute_mode::none)
                              : llama_hidden(tp, m, make_var(ids), recompute_mode::none);  // (1, T, C)
  var last = make_var(x->data.reshape({int64_t(T), cfg.dim}).slice(int64_t(T) - 1, int64_t(T)));  // (1, C)
  const var& head = m.param(cfg.tied_embeddings ? (cfg.family == "gpt" ? "wte" : "tok_emb") : "lm_head");  // (V, C)
  var logits = matmul(tp, last, head, false, true);  // (1, V)
  const float* l = logits->data.f32();
  return std::vector<float>(l, l + cfg.vocab);
}

std::vector<int32_t> generate(const model& m, compute_backend& backend, std::vector<int32_t> context,
                              const sample_options& o) {
  std::vector<int32_t> out;
  rng64 rng(o.seed);
  for (int i = 0; i < o.max_new_tokens; ++i) {
    auto logits = next_token_logits(m, backend, context);
    int32_t next;
    if (o.temperature <= 0) {
      next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    } else {
      // Softmax at the temperature, then one draw from the cumulative distribution.
      float top = *std::max_element(logits.begin(), logits.end());
      std::vector<double> p(logits.size());
      double sum = 0;
      for (size_t k = 0; k < p.size(); ++k) sum += p[k] = std::exp((logits[k] - top) / o.temperature);
      double u = unit_interval(rng.next()) * sum, acc = 0;
      next = int32_t(p.size() - 1);
      for (size_t k = 0; k < p.size(); ++k)
        if ((acc += p[k]) > u) { next = int32_t(k); break; }
    }
    out.push_back(next);
    if (next == o.stop_id) break;
    context.push_back(next);
  }
  return out;
}

sequence_loss mean_next_token_loss(const model& m, compute_backend& backend, const std::vector<int32_t>& ids) {
  const int64_t T = m.config().seq_len;
  sequence_loss r;
  double sum = 0;
  for (size_t start = 0; start + 1 < ids.size(); start += size_t(T)) {
    int64_t n = std::min<int64_t>(T, int64_t(ids.size() - start - 1));
    tensor x({1, n}, mem_category::activations, dtype::i32), y({1, n}, mem_category::activations, dtype::i32);
    for (int64_t t = 0; t < n; ++t) {
      x.i32()[t] = ids[start + size_t(t)];
      y.i32()[t] = ids[start + size_t(t) + 1];
    }
    tape tp(backend, false);
    sum += double(m.loss(tp, x, y)->data.f32()[0]) * double(n);
    r.targets += n;
  }
  if (r.targets == 0) throw std::invalid_argument("a sequence needs at least two tokens for a next-token loss");
  r.mean = sum / double(r.targets);
  return r;
}

}  // namespace wb
