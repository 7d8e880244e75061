// Pipeline parallel on thread-ranks (local_collective_group): a tiny Llama (and GPT) split over
// pp = 2 stages, alone and combined with tp = 2 and dp = 2, under 1F1B and the interleaved schedule,
// trains with the same losses and gradient norms as the single-process model within fp32 rounding
// (the tensor-parallel sums and the norm's stage sum run in another order; the pipeline itself
// computes every microbatch exactly as one process does). Each stage holds only its layers. With
// the gradient reduction overlapped (each chunk's last microbatch posts its buckets to a comm
// thread on a data-parallel channel of its own), every rank's losses and norms are the synchronous
// run's bit for bit.
#include <catch2/catch.hpp>

#include <cmath>

#include "tests/support/lm_batch.hpp"
#include "tests/support/layout_ranks.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "core/parallel/local_collective.hpp"
#include "core/train/trainer.hpp"

using namespace wb;

namespace {

// 4 layers so pp = 2 with 2 virtual stages gives one layer per chunk; kv_heads 2 so tp = 2 splits
// the GQA groups; vocabulary 33 for uneven vocabulary shards.
model_config tiny(const std::string& family = "llama", bool tied = false, int layers = 4) {
  model_config c;
  c.family = family, c.layers = layers, c.dim = 32, c.heads = 4, c.kv_heads = family == "gpt" ? 4 : 2, c.ffn = 66, c.vocab = 33,
  c.seq_len = 16, c.tied_embeddings = tied;
  return c;
}

trainer_options options(int microbatch) {
  trainer_options t;
  t.optim.lr = 1e-2, t.optim.lr_min = 1e-3, t.optim.warmup_steps = 2, t.optim.clip = 0.5;  // clipping active
  t.total_steps = 6;
  t.microbatch = microbatch;
  return t;
}

const int steps = 6;
const double tolerance = 1e-5;  // relative, as tests/core/parallel/tensor_parallel_test.cpp

struct run_config {
  std::string family = "llama";
  bool tied = false;
  int tp = 1, dp = 1, pp = 2, virtual_stages = 1, microbatch = 1, layers = 4, zero = 0;
  recompute_mode rc = recompute_mode::none;
  bool sequence_parallel = false;
  bool overlap = false;  // data parallel on a channel of its own, reduced beside the schedule
};

std::pair<tensor, tensor> rows_of_batch(int first, int rows, int step) {
  return wb::test::lm_batch_rows(first, rows, uint32_t(3000 + step % 2), 33, 5);
}

using trace = wb::test::rank_trace;

trace single_process(const run_config& rc) {
  trace t;
  cpu_backend be(1);
  model m(tiny(rc.family, rc.tied, rc.layers), 11);
  trainer tr(m, be, options(rc.microbatch));
  for (int s = 0; s < steps; ++s) {
    auto [tok, tgt] = rows_of_batch(0, 8, s);
    step_result sr = tr.step(tok, tgt);
    t.losses.push_back(sr.loss);
    t.grad_norms.push_back(sr.grad_norm);
  }
  t.params = m.num_params();
  return t;
}

std::vector<trace> run_layout(const run_config& rc) {
  return wb::test::train_on_layout(tiny(rc.family, rc.tied, rc.layers), 11,
                                   {rc.tp, rc.dp, rc.pp, rc.virtual_stages, rc.zero, rc.rc, rc.sequence_parallel, rc.overlap},
                                   options(rc.microbatch), steps, 8, rows_of_batch);
}

void check_layout(const run_config& rc) {
  trace single = single_process(rc);
  auto res = run_layout(rc);
  double worst = 0;
  std::string errors;  // every rank's, since one rank's failure shows as a timeout on the others
  for (size_t r = 0; r < res.size(); ++r) errors += "rank " + std::to_string(r) + ": " + res[r].error + "\n";
  INFO(errors);
  for (size_t r = 0; r < res.size(); ++r) {
    INFO("rank " << r);
    REQUIRE(res[r].error == "");
    REQUIRE(res[r].losses.size() == single.losses.size());
    for (size_t s = 0; s < single.losses.size(); ++s) {
      worst = std::max(worst, std::abs(res[r].losses[s] - single.losses[s]) / single.losses[s]);
      CHECK(std::abs(res[r].grad_norms[s] - single.grad_norms[s]) < 1e-4 * single.grad_norms[s]);
    }
  }
  CHECK(single.grad_norms[0] > options(1).optim.clip);  // clipping acts, so a wrong norm would change the losses
  WARN("tp=" << rc.tp << " dp=" << rc.dp << " pp=" << rc.pp << " v=" << rc.virtual_stages << " " << rc.family
             << (rc.tied ? " tied" : "") << " vs one process over " << steps << " steps: max relative loss difference " << worst);
  CHECK(worst < tolerance);
  CHECK(single.losses.back() < single.losses.front() - 0.05);  // it learns, so the comparison means something
  if (rc.tp == 1 && rc.dp == 1 && !rc.tied) {
    int64_t sum = 0;
    for (auto& t : res) sum += t.params;
    CHECK(sum == single.params);  // the stages tile the model
    CHECK(res[0].params < single.params * 7 / 10);
  }
}

}  // namespace

TEST_CASE("pp=2 with 1F1B over 4 microbatches trains with the single-process losses", "[parallel][pipeline][train]") {
  run_config rc;
  rc.microbatch = 2;
  check_layout(rc);
}

TEST_CASE("pp=2 with more stages than microbatches in flight: 8 microbatches of one row", "[parallel][pipeline][train]") {
  run_config rc;
  rc.microbatch = 1;
  check_layout(rc);
}

TEST_CASE("pp=2 interleaved with 2 virtual stages trains with the single-process losses", "[parallel][pipeline][train]") {
  run_config rc;
  rc.virtual_stages = 2, rc.microbatch = 2;  // 4 microbatches: a multiple of pp, more than pp
  check_layout(rc);
  rc.microbatch = 4;  // 2 microbatches = pp: every forward first (Megatron-LM's all-warm-up case)
  check_layout(rc);
}

TEST_CASE("tp=2 x pp=2 on four thread-ranks trains with the single-process losses", "[parallel][pipeline][train]") {
  run_config rc;
  rc.tp = 2, rc.microbatch = 2;
  check_layout(rc);
}

TEST_CASE("tp=2 x pp=2 with sequence parallel passes token blocks between stages and keeps the losses",
          "[parallel][pipeline][train][sequence_parallel]") {
  run_config rc;
  rc.tp = 2, rc.microbatch = 2, rc.sequence_parallel = true;
  check_layout(rc);
  rc.family = "gpt", rc.tied = true, rc.virtual_stages = 2;  // positions and the tied head under SP, interleaved
  check_layout(rc);
}

TEST_CASE("dp=2 x pp=2 on four thread-ranks trains with the single-process losses", "[parallel][pipeline][train]") {
  run_config rc;
  rc.dp = 2, rc.microbatch = 1;
  check_layout(rc);
}

TEST_CASE("dp=2 x pp=2 with ZeRO-1 sharding each stage's optimizer trains with the single-process losses", "[parallel][pipeline][train]") {
  run_config rc;
  rc.dp = 2, rc.zero = 1, rc.microbatch = 2;
  check_layout(rc);
  rc.tied = true;  // the tied copy's squares are left out of the last stage's shards
  check_layout(rc);
}

TEST_CASE("pp=2 with tied embeddings keeps the two copies in step", "[parallel][pipeline][train]") {
  run_config rc;
  rc.tied = true, rc.microbatch = 2;
  check_layout(rc);
  rc.tp = 2;
  check_layout(rc);
}

TEST_CASE("pp=2 trains GPT and full recomputation under the pipeline", "[parallel][pipeline][train]") {
  run_config rc;
  rc.family = "gpt", rc.microbatch = 2;
  check_layout(rc);
  rc.family = "llama", rc.rc = recompute_mode::full;
  check_layout(rc);
}

TEST_CASE("pp=4 over 8 layers, 1F1B and interleaved, trains with the single-process losses", "[parallel][pipeline][train]") {
  run_config rc;
  rc.pp = 4, rc.layers = 8, rc.microbatch = 1;  // 8 microbatches: every stage reaches its steady state
  check_layout(rc);
  rc.virtual_stages = 2;
  check_layout(rc);
  rc.microbatch = 2;  // 4 microbatches = pp: all warm-up
  check_layout(rc);
}

TEST_CASE("a pipeline layout that does not divide the layers is refused", "[parallel][pipeline]") {
  CHECK_THROWS_WITH(model(tiny(), 1, nullptr, pipeline_stage{0, 3, 1}), Catch::Contains("must divide model.layers (4)"));
  CHECK_THROWS_WITH(model(tiny(), 1, nullptr, pipeline_stage{0, 2, 4}), Catch::Contains("must divide model.layers (4)"));
  model stage1(tiny(), 1, nullptr, pipeline_stage{1, 2, 1});
  CHECK_THROWS_WITH(stage1.param("tok_emb"), Catch::Contains("pipeline stage 1 holds no parameter 'tok_emb'"));
  CHECK(stage1.param("layers.2.attn.wq")->data.numel() > 0);
}

// Over two replicas each reduced element is one addition, the same one whether the bucket is
// reduced during the stage's cooldown or after the step, so nothing may differ by a bit; 1F1B and
// interleaved (a chunk's buckets posted by its own last backward), tied embeddings (the outer bucket
// posted after the stages summed the two copies), ZeRO-0 and ZeRO-1.
TEST_CASE("dp=2 x pp=2 with the gradient reduction overlapped on each chunk's last backward gives the synchronous run bit for bit",
          "[parallel][pipeline][train][overlap]") {
  const int zero = GENERATE(0, 1);
  const int virtual_stages = GENERATE(1, 2);
  const bool tied = GENERATE(false, true);
  run_config rc;
  rc.dp = 2, rc.zero = zero, rc.virtual_stages = virtual_stages, rc.tied = tied, rc.microbatch = 1;
  INFO("ZeRO-" << zero << ", " << virtual_stages << " virtual stages" << (tied ? ", tied" : ""));
  auto sync = run_layout(rc);
  rc.overlap = true;
  auto over = run_layout(rc);
  wb::test::check_bit_identical(sync, over);
  CHECK(sync[0].losses.back() < sync[0].losses.front() - 0.05);
}

TEST_CASE("tp=2 x dp=2 x pp=2 with sequence parallel and the overlapped reduction gives the synchronous run bit for bit",
          "[parallel][pipeline][train][overlap]") {
  run_config rc;
  rc.tp = 2, rc.dp = 2, rc.zero = 1, rc.sequence_parallel = true, rc.microbatch = 2;
  rc.family = GENERATE("llama", "gpt");
  auto sync = run_layout(rc);
  rc.overlap = true;
  auto over = run_layout(rc);
  INFO(rc.family);
  wb::test::check_bit_identical(sync, over);
  check_layout([&] { run_config one = rc; one.overlap = true; return one; }());  // and the single process's losses
}
