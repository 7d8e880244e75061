// The planner's per-rank memory prediction for local tensor, pipeline and data parallel layouts
// against the engine's own accounting: every rank runs on a thread with its own accountant
// (memory_scope), as each rank process has one, over local collectives; one real training step
// (forward, backward, AdamW) per layout, each rank's peak total against local_rank_memory's.
// Issues 6/7 set the bound: within 5% per rank for tp=2, pp=2 (1F1B), pp=2 interleaved (v=2),
// tp=2 x pp=2 and dp=2 x pp=2 (ZeRO-1 within stages), dp=2 with ZeRO-2 and ZeRO-3, on the tiny model.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <memory>

#include "tests/support/thread_ranks.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "core/parallel/local_collective.hpp"
#include "core/parallel/rank_layout.hpp"
#include "core/parallel/sub_collective.hpp"
#include "core/plan/local_memory.hpp"
#include "core/plan/pipeline_replay.hpp"
#include "core/train/trainer.hpp"

using namespace wb;

namespace {

// bench/train_step's tiny model (tests/core/plan/local_memory_test.cpp), seq 256: 8 heads and 4 kv
// heads split over tp = 2, 4 layers over pp = 2 with 2 virtual stages.
model_config tiny_model() {
  model_config c;
  c.family = "llama", c.layers = 4, c.dim = 256, c.heads = 8, c.kv_heads = 4, c.ffn = 688, c.vocab = 4096, c.seq_len = 256;
  c.precision = "fp32";
  return c;
}
model_config gpt_model() {
  model_config c;
  c.family = "gpt", c.layers = 4, c.dim = 128, c.heads = 4, c.kv_heads = 4, c.ffn = 512, c.vocab = 2048, c.seq_len = 256;
  c.precision = "fp32";
  return c;
}
model_config with(model_config c, const char* precision, bool tied) {
  c.precision = precision;
  c.tied_embeddings = tied;
  return c;
}

struct layout_case {
  const char* name;
  model_config model;
  int tp, dp, pp, virtual_stages, microbatch, global_batch, zero;
  const char* recompute;
  bool sequence_parallel = false;
  bool overlap = false;  // overlap_grad_reduce: ZeRO-3 prefetches the next layer; ZeRO-0/1 reduce beside backward
};

plan_layout plan_layout_of(const layout_case& k) {
  plan_layout l;
  l.tp = k.tp, l.dp = k.dp, l.pp = k.pp, l.virtual_stages = k.virtual_stages, l.zero = k.zero;
  l.microbatch = k.microbatch, l.global_batch = k.global_batch;
  l.microbatches = k.global_batch / (k.microbatch * k.dp);
  l.recompute = k.recompute;
  l.sequence_parallel = k.sequence_parallel;
  l.overlap_grad_reduce = k.overlap;
  return l;
}

// Each rank's accounted peak total over one step, as `wb run` measures it (core/run/train_run.cpp:
// the batch allocated, peaks reset, one step).
std::vector<double> measured_peaks(const layout_case& k) {
  int world = k.tp * k.dp * k.pp;
  rank_layout layout = make_rank_layout(k.tp, k.dp, k.pp, world);
  // With the overlap, data parallel on a group of its own, as train_run's channel.
  local_collective_group g(world, std::chrono::seconds(120)), channel(world, std::chrono::seconds(120));
  std::vector<std::unique_ptr<memory_accountant>> accountants;
  for (int r = 0; r < world; ++r) accountants.push_back(std::make_unique<memory_accountant>());
  std::vector<double> peaks(size_t(world), 0);
  auto errors = wb::test::run_on_thread_ranks(g, [&](int r) {
    memory_scope scope(*accountants[size_t(r)]);
    rank_coords me = layout.coords(r);
    sub_collective tpg(g.member(r), layout.tp_group(r), 100),
        dpg(k.overlap ? channel.member(r) : g.member(r), layout.dp_group(r), 200), ppg(g.member(r), layout.pp_group(r), 300);
    cpu_backend be(1);
    model m(k.model, 1, &tpg, pipeline_stage{me.pp, k.pp, k.virtual_stages});
    m.set_sequence_parallel(k.sequence_parallel);
    trainer_options o;
    o.optim.lr = 1e-3, o.optim.lr_min = 1e-4, o.optim.schedule = "cosine", o.optim.clip = 1.0;
    o.total_steps = 10;
    o.microbatch = k.microbatch;
    o.recompute = recompute_from_string(k.recompute);
    o.overlap_grad_reduce = k.overlap;
    o.data_parallel_own_channel = k.overlap;
    if (k.dp > 1) o.data_parallel = &dpg;
    o.zero = k.zero;
    if (k.pp > 1) o.pipeline = &ppg;
    trainer t(m, be, o);
    int64_t B = k.global_batch / k.dp, T = k.model.seq_len;
    tensor tok({B, T}, mem_category::activations, dtype::i32), tgt({B, T}, mem_category::activations, dtype::i32);
    for (int64_t i = 0; i < B * T; ++i) {
      int64_t row = me.dp * B * T + i;  // this replica's rows of the global batch
      tok.i32()[i] = int32_t((row * 7919) % k.model.vocab), tgt.i32()[i] = int32_t((row * 104729) % k.model.vocab);
    }
    memory().reset_peaks();
    t.step(tok, tgt);
    peaks[size_t(r)] = double(memory().total().peak);
  });
  std::string all;
  for (int r = 0; r < world; ++r) all += "rank " + std::to_string(r) + ": " + errors[size_t(r)] + "\n";
  INFO(all);
  for (auto& e : errors) REQUIRE(e == "");
  return peaks;
}

double check_case(const layout_case& k, double bound = 0.05) {
  plan_layout l = plan_layout_of(k);
  std::vector<plan_memory> predicted = local_memory_by_rank(k.model, l, 64e9);
  std::vector<double> measured = measured_peaks(k);
  REQUIRE(predicted.size() == measured.size());
  double worst = 0;
  for (size_t r = 0; r < measured.size(); ++r) {
    double err = predicted[r].total_bytes / measured[r] - 1;
    worst = std::max(worst, std::abs(err));
    std::printf("%-34s rank %zu (stage %d)  predicted %8.2f MiB  measured %8.2f MiB  error %+6.2f%%\n", k.name, r,
                predicted[r].stage, predicted[r].total_bytes / 1048576.0, measured[r] / 1048576.0, 100 * err);
    INFO(k.name << " rank " << r);
    CHECK(std::abs(err) <= bound);
  }
  return worst;
}

}  // namespace

TEST_CASE("Predicted per-rank peaks are within 5% of each thread-rank's accounting for tp, pp, tp x pp and dp x pp", "[plan][memory][ranks]") {
  model_config tiny = tiny_model();
  const layout_case cases[] = {
      {"tp=2", tiny, 2, 1, 1, 1, 4, 8, 0, "none"},
      {"pp=2 1F1B, 4 microbatches", tiny, 1, 1, 2, 1, 2, 8, 0, "none"},
      {"pp=2 interleaved v=2", tiny, 1, 1, 2, 2, 2, 8, 0, "none"},
      {"tp=2 x pp=2", tiny, 2, 1, 2, 1, 2, 8, 0, "none"},
      {"dp=2 x pp=2 ZeRO-1", tiny, 1, 2, 2, 1, 1, 8, 1, "none"},
      {"dp=2 x pp=2 ZeRO-0", tiny, 1, 2, 2, 1, 1, 8, 0, "none"},
      // Each stage's reduction overlapped with its cooldown, on a channel of its own (the default).
      {"dp=2 x pp=2 ZeRO-1 overlapped", tiny, 1, 2, 2, 1, 1, 8, 1, "none", false, true},
      {"dp=2 x pp=2 interleaved v=2 ZeRO-0 overlapped", tiny, 1, 2, 2, 2, 1, 8, 0, "none", false, true},
      {"pp=2 1F1B selective", tiny, 1, 1, 2, 1, 2, 8, 0, "selective"},
      {"pp=2 interleaved v=2 full", tiny, 1, 1, 2, 2, 2, 8, 0, "full"},
      {"pp=2 1F1B, 1 microbatch", tiny, 1, 1, 2, 1, 4, 4, 0, "none"},
      {"gpt tied bf16 tp=2 x pp=2", with(gpt_model(), "bf16", true), 2, 1, 2, 1, 2, 8, 0, "none"},
  };
  double worst = 0;
  for (auto& k : cases) worst = std::max(worst, check_case(k));
  std::printf("worst error %.2f%%\n", 100 * worst);
}

TEST_CASE("Predicted per-rank peaks are within 5% under sequence parallel", "[plan][memory][ranks][sequence_parallel]") {
  model_config tiny = tiny_model();
  const layout_case cases[] = {
      {"tp=2 sp", tiny, 2, 1, 1, 1, 4, 8, 0, "none", true},
      {"tp=2 sp selective", tiny, 2, 1, 1, 1, 4, 8, 0, "selective", true},
      {"tp=2 sp full", tiny, 2, 1, 1, 1, 4, 8, 0, "full", true},
      {"tp=2 x pp=2 sp", tiny, 2, 1, 2, 1, 2, 8, 0, "none", true},
      {"gpt tied bf16 tp=2 x pp=2 sp", with(gpt_model(), "bf16", true), 2, 1, 2, 1, 2, 8, 0, "none", true},
      {"gpt fp32 tp=2 sp", gpt_model(), 2, 1, 1, 1, 4, 8, 0, "none", true},
  };
  double worst = 0;
  for (auto& k : cases) worst = std::max(worst, check_case(k));
  std::printf("worst error %.2f%%\n", 100 * worst);
}

TEST_CASE("Predicted per-rank peaks are within 0.5% for dp=2 with ZeRO-2 and ZeRO-3, their buckets and gathered layers counted", "[plan][memory][ranks][zero]") {
  // Two microbatches per rank: the gradient shard accumulates, each layer is gathered twice. Bound
  // 0.5%: counting whole gradients and parameters as ZeRO-1 does is 0.9-5.1% off on these rows
  // (activations dominate the tiny model), so the buckets are what this checks.
  model_config tiny = tiny_model();
  const layout_case cases[] = {
      {"dp=2 ZeRO-2", tiny, 1, 2, 1, 1, 2, 8, 2, "none"},
      {"dp=2 ZeRO-3", tiny, 1, 2, 1, 1, 2, 8, 3, "none"},
      {"dp=2 ZeRO-3 full", tiny, 1, 2, 1, 1, 2, 8, 3, "full"},
      // Prefetching: not under full recomputation, whose layers keep so little that the peak can
      // fall on a later layer while the comm thread still holds the bucket before it, a moment
      // the comm thread's timing decides (seen once: +2.8% on one rank, a fresh clone's suite).
      {"dp=2 ZeRO-3 prefetching", tiny, 1, 2, 1, 1, 2, 8, 3, "none", false, true},
      {"tp=2 x dp=2 ZeRO-3", tiny, 2, 2, 1, 1, 2, 8, 3, "none"},
      {"tp=2 x dp=2 ZeRO-3 prefetching", tiny, 2, 2, 1, 1, 2, 8, 3, "none", false, true},
      {"gpt tied bf16 dp=2 ZeRO-3", with(gpt_model(), "bf16", true), 1, 2, 1, 1, 2, 8, 3, "none"},
  };
  double worst = 0;
  for (auto& k : cases) worst = std::max(worst, check_case(k, 0.005));
  std::printf("worst error %.2f%%\n", 100 * worst);
}

TEST_CASE("The replayed 1F1B order holds up to min(m, pp - s) microbatches in flight on stage s", "[plan][pipeline]") {
  for (int m : {1, 2, 3, 8}) {
    for (int s = 0; s < 4; ++s) {
      int in_flight = 0, most = 0, forwards = 0;
      for (const pipeline_event& e : pipeline_replay(pipeline_stage{s, 4, 1}, m)) {
        in_flight += e.forward ? 1 : -1;
        forwards += e.forward;
        most = std::max(most, in_flight);
      }
      INFO("m " << m << " stage " << s);
      CHECK(forwards == m);
      CHECK(in_flight == 0);
      CHECK(most == std::min(m, 4 - s));
    }
  }
}

TEST_CASE("The replayed interleaved order holds Megatron-LM's warm-up plus one chunk-microbatches in flight", "[plan][pipeline]") {
  // forward_backward_pipelining_with_interleaving: (p - s - 1) * 2 + (v - 1) * p warm-up forwards,
  // then one forward before each backward; all m * v when m == p.
  const int p = 2, v = 2;
  for (int m : {2, 4, 8}) {
    for (int s = 0; s < p; ++s) {
      int in_flight = 0, most = 0;
      for (const pipeline_event& e : pipeline_replay(pipeline_stage{s, p, v}, m)) {
        in_flight += e.forward ? 1 : -1;
        most = std::max(most, in_flight);
      }
      int warmup = m == p ? m * v : std::min((p - s - 1) * 2 + (v - 1) * p, m * v);
      INFO("m " << m << " stage " << s);
      CHECK(most == std::min(warmup + 1, m * v));
    }
  }
  CHECK_THROWS_WITH(pipeline_replay(pipeline_stage{0, 2, 2}, 3),
                    Catch::Contains("needs the microbatches per step (3) to be a multiple of parallel.pp (2)"));
}
