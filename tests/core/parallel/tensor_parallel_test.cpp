// Tensor parallel on thread-ranks (local_collective_group): a tiny GQA Llama split over tp=2 ranks,
// and over tp=2 x dp=2, trains with the same losses as the single-process model within fp32
// rounding (sums run in another order: the row-parallel all-reduces and the vocabulary-parallel
// softmax), each rank allocates only its shards, and the replicated norm weights stay identical
// on the ranks of a tp group; with ZeRO-1 and ZeRO-2 too (each tp rank's optimizer,
// and gradient, sharded over its dp group); with the gradient reduction overlapped with backward
// on a data-parallel group of its own, bit for bit the synchronous run.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "tests/support/lm_batch.hpp"
#include "tests/support/layout_ranks.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "core/parallel/grad_reduce_overlap.hpp"
#include "core/parallel/local_collective.hpp"
#include "core/train/trainer.hpp"

using namespace wb;

namespace {

// kv_heads 2 so tp=2 splits the GQA groups; vocabulary 33 so the vocabulary shards are uneven (17 and
// 16 rows), ffn 66 gives 33 units per rank.
model_config tiny(const std::string& family = "llama") {
  model_config c;
  c.family = family, c.layers = 2, c.dim = 32, c.heads = 4, c.kv_heads = 2, c.ffn = 66, c.vocab = 33, c.seq_len = 16;
  return c;
}

trainer_options options() {
  trainer_options t;
  t.optim.lr = 1e-2, t.optim.lr_min = 1e-3, t.optim.warmup_steps = 2, t.optim.clip = 0.5;  // clipping active
  t.total_steps = 8;
  t.microbatch = 2;
  return t;
}

// Rows [first, first + rows) of a fixed random batch of 8 rows; some targets are -1 (ignored).
std::pair<tensor, tensor> rows_of_batch(int first, int rows, int step) {
  // Two batches, repeated: the model memorises them.
  return wb::test::lm_batch_rows(first, rows, uint32_t(2000 + step % 2), 33, 3);
}

const int steps = 8;
// fp32 rounding over 8 steps of a 2-layer model: the dp=2 test sees ~1e-7; allow 1e-5 relative.
const double tolerance = 1e-5;

std::vector<double> single_grad_norms;

std::vector<double> single_process_losses(const std::string& family = "llama") {
  std::vector<double> out;
  single_grad_norms.clear();
  cpu_backend be(1);
  model m(tiny(family), 7);
  trainer tr(m, be, options());
  for (int s = 0; s < steps; ++s) {
    auto [tok, tgt] = rows_of_batch(0, 8, s);
    step_result sr = tr.step(tok, tgt);
    out.push_back(sr.loss);
    single_grad_norms.push_back(sr.grad_norm);
  }
  return out;
}

struct rank_result : wb::test::rank_trace {
  std::vector<float> attn_norm;  // a replicated parameter after training
};

std::vector<rank_result> run_layout(int tp, int dp, recompute_mode rc = recompute_mode::none, const std::string& family = "llama",
                                    int zero = 0, bool sequence_parallel = false, bool overlap = false) {
  std::vector<std::vector<float>> norms(size_t(tp * dp));
  auto traces = wb::test::train_on_layout(
      tiny(family), 7, {tp, dp, 1, 1, zero, rc, sequence_parallel, overlap}, options(), steps, 8, rows_of_batch,
      [&](int r, const model& m, wb::test::rank_trace&) {
        if (zero == 3) return;  // the layers' weights are gathered only while they run
        const tensor& w = m.param(family == "gpt" ? "layers.1.ln1.w" : "layers.1.attn_norm")->data;
        norms[size_t(r)].assign(w.f32(), w.f32() + w.numel());
      });
  std::vector<rank_result> res;
  for (size_t r = 0; r < traces.size(); ++r) {
    res.push_back({traces[r]});
    res.back().attn_norm = norms[r];
  }
  return res;
}

void check_against(const std::vector<double>& single, const std::vector<rank_result>& res, int tp) {
  double worst = 0;
  for (size_t r = 0; r < res.size(); ++r) {
    INFO("rank " << r);
    REQUIRE(res[r].error == "");
    REQUIRE(res[r].losses.size() == single.size());
    for (size_t s = 0; s < single.size(); ++s) {
      worst = std::max(worst, std::abs(res[r].losses[s] - single[s]) / single[s]);
      // the global norm over the shards (tensor_parallel_grad_norm), not this rank's part of it
      CHECK(std::abs(res[r].grad_norms[s] - single_grad_norms[s]) < 1e-4 * single_grad_norms[s]);
    }
  }
  CHECK(single_grad_norms[0] > options().optim.clip);  // clipping acts, so a wrong norm would change the losses
  WARN("tp=" << tp << " vs single process over " << steps << " steps: max relative loss difference " << worst);
  CHECK(worst < tolerance);
  CHECK(single.back() < single.front() - 0.05);  // the run does learn, so the comparison means something
  for (size_t r = 0; r < res.size(); r += size_t(tp))
    for (size_t k = 1; k < size_t(tp); ++k) CHECK(res[r + k].attn_norm == res[r].attn_norm);  // bit-identical in a tp group
}

int64_t split_params_of_rank(int tp, int rank) {
  model_config c = tiny();
  int64_t n = 0;
  for (auto& p : param_layout(c)) n += shape_numel(shard_shape(p, tensor_parallel_shard(c, p, tp, rank)));
  return n;
}

}  // namespace

TEST_CASE("tp=2 on thread-ranks trains with the single-process losses and holds half the matrices", "[parallel][train]") {
  auto single = single_process_losses();
  auto res = run_layout(2, 1);
  check_against(single, res, 2);
  model_config c = tiny();
  int64_t full = param_count(c), replicated = c.layers * 2 * c.dim + c.dim;
  CHECK(res[0].params + res[1].params - replicated == full);  // the shards tile every split parameter
  CHECK(res[0].params == split_params_of_rank(2, 0));
  CHECK(res[0].params < full * 6 / 10);
}

TEST_CASE("tp=2 x dp=2 on four thread-ranks trains with the single-process losses", "[parallel][train]") {
  auto single = single_process_losses();
  check_against(single, run_layout(2, 2), 2);
}

TEST_CASE("tp=2 x dp=2 with ZeRO-1 sharding each tp rank's optimizer over its replicas keeps the single-process losses",
          "[parallel][train][zero]") {
  auto single = single_process_losses();
  // check_against also holds every rank's norm to the single process's: the replicated norm weights
  // counted once, on tp rank 0's shard of each data-parallel group
  check_against(single, run_layout(2, 2, recompute_mode::none, "llama", 1), 2);
}

TEST_CASE("tp=2 x dp=2 with ZeRO-2 reducing each tp rank's layer buckets over its replicas keeps the single-process losses",
          "[parallel][train][zero]") {
  auto single = single_process_losses();
  check_against(single, run_layout(2, 2, recompute_mode::none, "llama", 2), 2);
}

TEST_CASE("a model refuses a tp that does not divide the key/value heads", "[parallel]") {
  local_collective_group g(4);
  model_config c = tiny();  // kv_heads 2
  CHECK_THROWS_WITH(model(c, 1, &g.member(0)), Catch::Contains("must divide model.heads (4) and model.kv_heads (2)"));
}

TEST_CASE("tp=2 with full recomputation reruns the tp operators in backward and keeps the losses", "[parallel][train]") {
  auto single = single_process_losses();
  check_against(single, run_layout(2, 1, recompute_mode::full), 2);
}

TEST_CASE("GPT at tp=2: split biases, replicated position embedding and row-parallel biases, single-process losses", "[parallel][train]") {
  auto single = single_process_losses("gpt");
  auto res = run_layout(2, 1, recompute_mode::none, "gpt");
  check_against(single, res, 2);
  model_config c = tiny("gpt");
  // replicated on both ranks: 2 LayerNorms (w, b) and the two row-parallel biases per layer, ln_f, wpe
  int64_t full = param_count(c), replicated = c.layers * 6 * c.dim + 2 * c.dim + c.seq_len * c.dim;
  CHECK(res[0].params + res[1].params - replicated == full);
}

// Sequence parallel (Korthikanti et al. 2022): the residual stream split by tokens over the tp
// group, gathers and reduce-scatters in place of the all-reduces, the replicated parameters'
// gradients summed over the group. check_against holds the losses and norms to the single process
// and the replicated norm weights bit-identical across the tp group (a missing sum would drift them).
TEST_CASE("tp=2 with sequence parallel keeps the single-process losses, Llama and GPT, with full recomputation too",
          "[parallel][train][sequence_parallel]") {
  auto single = single_process_losses();
  check_against(single, run_layout(2, 1, recompute_mode::none, "llama", 0, true), 2);
  check_against(single, run_layout(2, 1, recompute_mode::full, "llama", 0, true), 2);
  auto single_gpt = single_process_losses("gpt");
  check_against(single_gpt, run_layout(2, 1, recompute_mode::none, "gpt", 0, true), 2);
}

TEST_CASE("tp=2 x dp=2 with sequence parallel and ZeRO-1 or ZeRO-2 keeps the single-process losses",
          "[parallel][train][sequence_parallel][zero]") {
  auto single = single_process_losses();
  check_against(single, run_layout(2, 2, recompute_mode::none, "llama", 1, true), 2);
  check_against(single, run_layout(2, 2, recompute_mode::selective, "llama", 2, true), 2);
  auto single_gpt = single_process_losses("gpt");
  check_against(single_gpt, run_layout(2, 2, recompute_mode::none, "gpt", 2, true), 2);
}

// With data parallel on a group of its own, the trainer's comm thread reduces each bucket (ZeRO-0/1:
// the last microbatch's; ZeRO-2/3: every microbatch's, and ZeRO-3 prefetches the next layer's
// gather) while backward runs the tp all-reduces; a bucket's sequence-parallel gradients are summed
// over tp first. Over two replicas each sum is one addition, so nothing may differ by a bit.
TEST_CASE("tp=2 x dp=2 with the gradient reduction overlapped beside tensor parallel gives the synchronous run bit for bit",
          "[parallel][train][overlap]") {
  const int zero = GENERATE(0, 1, 2, 3);
  const std::string family = GENERATE("llama", "gpt");
  INFO("ZeRO-" << zero << ", " << family << ", sequence parallel");
  auto sync = run_layout(2, 2, recompute_mode::none, family, zero, true, false);
  auto over = run_layout(2, 2, recompute_mode::none, family, zero, true, true);
  wb::test::check_bit_identical(sync, over);
  for (size_t r = 0; r < 4; ++r) CHECK(over[r].attn_norm == sync[r].attn_norm);
  CHECK(sync[0].losses.back() < sync[0].losses.front() - 0.05);
}

TEST_CASE("the overlap applies beside tensor or pipeline parallel only when data parallel has a channel of its own",
          "[parallel][overlap]") {
  local_collective_group g(2), dp(2);
  auto errors = wb::test::run_on_thread_ranks(g, [&](int r) {
    model m(tiny(), 7, &g.member(r));
    CHECK_FALSE(overlap_grad_reduce_applies(m, &dp.member(r), nullptr, false));
    CHECK(overlap_grad_reduce_applies(m, &dp.member(r), nullptr, true));
    model whole(tiny(), 7);
    CHECK(overlap_grad_reduce_applies(whole, &dp.member(r), nullptr, false));
    CHECK_FALSE(overlap_grad_reduce_applies(whole, &dp.member(r), &g.member(r), false));  // a pipeline of two stages
    CHECK(overlap_grad_reduce_applies(whole, &dp.member(r), &g.member(r), true));
    model stage(tiny(), 7, nullptr, pipeline_stage{r, 2, 1});
    CHECK_FALSE(overlap_grad_reduce_applies(stage, &dp.member(r), &g.member(r), false));
    CHECK(overlap_grad_reduce_applies(stage, &dp.member(r), &g.member(r), true));
    single_rank_collective alone;
    CHECK_FALSE(overlap_grad_reduce_applies(stage, &alone, &g.member(r), true));  // no data parallel
  });
  for (auto& e : errors) CHECK(e == "");
}

TEST_CASE("a sequence-parallel model refuses a sequence the tp group does not divide", "[parallel][sequence_parallel]") {
  local_collective_group g(2);
  model m(tiny(), 1, &g.member(0));
  m.set_sequence_parallel(true);
  cpu_backend be(1);
  tape tp(be);
  tensor t15({2, 15}, mem_category::activations, dtype::i32), g15({2, 15}, mem_category::activations, dtype::i32);
  for (int64_t i = 0; i < 30; ++i) t15.i32()[i] = 1, g15.i32()[i] = 2;
  CHECK_THROWS_WITH(m.loss(tp, t15, g15), Catch::Contains("multiple of parallel.tp"));
}
