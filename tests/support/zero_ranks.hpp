// Test support for the ZeRO stages on thread-ranks (local_collective_group): a tiny model with a
// tied embedding (read by the head first and by the lookup last, so its bucket or gather is the
// first and the last of backward), trainer options with clipping active and two microbatches per
// rank, and a runner that trains it in one process or over dp thread-ranks with ZeRO stage `zero`,
// each rank charging its own memory accountant. Used by zero2_test and zero3_test.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/lm_batch.hpp"
#include "tests/support/thread_ranks.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "core/parallel/local_collective.hpp"
#include "core/parallel/zero3.hpp"
#include "core/tensor/memory.hpp"
#include "core/train/trainer.hpp"

namespace wb::test {

inline model_config zero_test_model(const std::string& family = "llama") {
  model_config c;
  c.family = family, c.layers = 3, c.dim = 32, c.heads = 4, c.kv_heads = 2, c.ffn = 64, c.vocab = 32, c.seq_len = 16;
  c.tied_embeddings = true;
  return c;
}

inline trainer_options zero_test_options() {
  trainer_options t;
  t.optim.lr = 1e-2, t.optim.lr_min = 1e-3, t.optim.warmup_steps = 2, t.optim.clip = 0.5;  // clip active: norms ~1-3
  t.optim.weight_decay = 0.1;
  t.total_steps = 6;
  t.microbatch = 2;  // 4 rows per rank with dp = 2: two microbatches per step
  return t;
}

constexpr int zero_test_steps = 6;

struct zero_rank_run {
  std::vector<double> losses, norms;
  std::vector<float> params;    // the whole model after the last step (gathered under ZeRO-3)
  mem_stats parameters, total;  // this rank's peaks over the last step
  std::string error;
};

// dp = 1: one process over all 8 rows; else dp thread-ranks with ZeRO stage `zero`. overlap: the
// trainer's overlap_grad_reduce (a comm thread for ZeRO-2's reductions and ZeRO-3's prefetch).
inline std::vector<zero_rank_run> train_zero_ranks(int dp, int zero, recompute_mode rc, const std::string& family = "llama",
                                                   bool overlap = false) {
  local_collective_group g(dp, std::chrono::seconds(60));
  std::vector<zero_rank_run> out(static_cast<size_t>(dp));
  std::vector<memory_accountant> accountants(static_cast<size_t>(dp));
  auto errors = run_on_thread_ranks(g, [&](int r) {
    memory_scope scope(accountants[size_t(r)]);
    cpu_backend be(1);
    model m(zero_test_model(family), 7);
    trainer_options o = zero_test_options();
    o.recompute = rc;
    o.overlap_grad_reduce = overlap;
    if (dp > 1) o.data_parallel = &g.member(r), o.zero = zero;
    trainer tr(m, be, o);
    int rows = 8 / dp;
    zero_rank_run& res = out[size_t(r)];
    for (int s = 0; s < zero_test_steps; ++s) {
      auto [tok, tgt] = lm_batch_rows(r * rows, rows, uint32_t(3000 + s % 2), 32);
      memory().reset_peaks();
      step_result step = tr.step(tok, tgt);
      res.losses.push_back(step.loss), res.norms.push_back(step.grad_norm);
    }
    res.parameters = memory().category(mem_category::parameters), res.total = memory().total();
    res.params.resize(size_t(m.num_params()));
    if (tr.zero3()) tr.zero3()->gather_all(res.params.data());
    else res.params.assign(m.param_arena().f32(), m.param_arena().f32() + m.num_params());
  });
  for (int r = 0; r < dp; ++r) out[size_t(r)].error = errors[size_t(r)];
  return out;
}

// Two ranks with ZeRO stage `zero` follow the single-process run: losses, gradient norms and final
// parameters within fp32 rounding (1e-4, as zero1_test), both ranks ending with the same model.
inline void check_zero_follows_one_process(int zero, recompute_mode rc, const std::string& family = "llama") {
  auto one = train_zero_ranks(1, 0, rc, family);
  REQUIRE(one[0].error == "");
  auto two = train_zero_ranks(2, zero, rc, family);
  double worst = 0, worst_norm = 0, worst_param = 0;
  for (auto& r : two) {
    REQUIRE(r.error == "");
    for (size_t s = 0; s < size_t(zero_test_steps); ++s) {
      worst = std::max(worst, std::abs(r.losses[s] - one[0].losses[s]));
      worst_norm = std::max(worst_norm, std::abs(r.norms[s] - one[0].norms[s]) / one[0].norms[s]);
    }
    for (size_t i = 0; i < r.params.size(); ++i)
      worst_param = std::max(worst_param, double(std::abs(r.params[i] - one[0].params[i])));
  }
  std::printf("ZeRO-%d dp=2 %s vs one process over %d steps: max |loss difference| %.3g, relative grad norm %.3g, "
              "max |parameter difference| %.3g\n", zero, family.c_str(), zero_test_steps, worst, worst_norm, worst_param);
  CHECK(one[0].norms[0] > zero_test_options().optim.clip);  // clipping acts, so a wrong norm would move the losses
  CHECK(one[0].losses.back() < one[0].losses.front() - 0.05);  // it learns: the comparison means something
  CHECK(worst < 1e-4);
  CHECK(worst_norm < 1e-4);
  CHECK(worst_param < 1e-4);
  CHECK(two[0].params == two[1].params);  // the all-gather leaves both replicas identical
}

}  // namespace wb::test
