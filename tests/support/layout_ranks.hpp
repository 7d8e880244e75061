// Test support: train a model split over a tp x dp x pp layout, one thread per rank over a
// local_collective_group (sub-collectives per group as core/run/train_run.cpp builds them), and
// return what each rank saw, step by step: the losses and gradient norms the equivalence tests hold
// to one process's. Each replica trains its own rows of the global batch.
#pragma once
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/thread_ranks.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "core/parallel/local_collective.hpp"
#include "core/parallel/rank_layout.hpp"
#include "core/parallel/sub_collective.hpp"
#include "core/train/trainer.hpp"

namespace wb::test {

struct layout_run {
  int tp = 1, dp = 1, pp = 1, virtual_stages = 1, zero = 0;
  recompute_mode recompute = recompute_mode::none;
  bool sequence_parallel = false;
  // Data parallel on a group of its own (as train_run's channel) with the gradient reduction
  // overlapped with backward on the trainer's comm thread.
  bool overlap = false;
};

struct rank_trace {
  std::vector<double> losses, grad_norms;
  int64_t params = 0;
  std::string error;  // "" when the rank finished
};

// (tokens, targets) of rows [first, first + rows) of step `step`'s global batch.
using batch_rows_fn = std::function<std::pair<tensor, tensor>(int first, int rows, int step)>;
// After training, on the rank's thread: anything more a test wants from its model.
using inspect_fn = std::function<void(int rank, const model& m, rank_trace& t)>;

inline std::vector<rank_trace> train_on_layout(const model_config& c, uint64_t seed, const layout_run& l,
                                               const trainer_options& base, int steps, int global_rows,
                                               const batch_rows_fn& batch_rows, const inspect_fn& inspect = {}) {
  int world = l.tp * l.dp * l.pp;
  rank_layout layout = make_rank_layout(l.tp, l.dp, l.pp, world);
  local_collective_group g(world, std::chrono::seconds(60)), channel(world, std::chrono::seconds(60));
  std::vector<rank_trace> res(static_cast<size_t>(world));
  auto errors = run_on_thread_ranks(g, [&](int r) {
    rank_coords me = layout.coords(r);
    sub_collective tpg(g.member(r), layout.tp_group(r), 100),
        dpg(l.overlap ? channel.member(r) : g.member(r), layout.dp_group(r), 200),
        ppg(g.member(r), layout.pp_group(r), 300);
    cpu_backend be(1);
    model m(c, seed, &tpg, pipeline_stage{me.pp, l.pp, l.virtual_stages});
    m.set_sequence_parallel(l.sequence_parallel);
    trainer_options o = base;
    o.recompute = l.recompute;
    o.zero = l.zero;
    if (l.dp > 1) o.data_parallel = &dpg;
    if (l.pp > 1) o.pipeline = &ppg;
    o.overlap_grad_reduce = base.overlap_grad_reduce || l.overlap;
    o.data_parallel_own_channel = l.overlap;
    trainer tr(m, be, o);
    int rows = global_rows / l.dp, first = me.dp * rows;
    rank_trace& t = res[size_t(r)];
    for (int s = 0; s < steps; ++s) {
      auto [tok, tgt] = batch_rows(first, rows, s);
      step_result sr = tr.step(tok, tgt);
      t.losses.push_back(sr.loss);
      t.grad_norms.push_back(sr.grad_norm);
    }
    t.params = m.num_params();
    if (inspect) inspect(r, m, t);
  });
  for (int r = 0; r < world; ++r) res[size_t(r)].error = errors[size_t(r)];
  return res;
}

// Every rank of `over` finished with exactly the losses and gradient norms of the same rank of `sync`
// (the overlapped reduction against the reduction after backward). Trace: rank_trace or derived.
template <class Trace>
void check_bit_identical(const std::vector<Trace>& sync, const std::vector<Trace>& over) {
  REQUIRE(over.size() == sync.size());
  for (size_t r = 0; r < sync.size(); ++r) {
    INFO("rank " << r);
    REQUIRE(sync[r].error == "");
    REQUIRE(over[r].error == "");
    CHECK(over[r].losses == sync[r].losses);
    CHECK(over[r].grad_norms == sync[r].grad_norms);
  }
}

}  // namespace wb::test
