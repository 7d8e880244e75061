// Local tensor- and pipeline-parallel step time (core/plan/local_parallel_time.cpp) on a profile
// with hand-set figures: the tensor-parallel collectives counted from tensor_parallel_ops.hpp, the
// stages' share of the op model, the bubble, and ranks sharing cores. Against measured steps:
// bench/plan_calibration.
#include <catch2/catch.hpp>

#include "core/plan/local_parallel_time.hpp"
#include "core/plan/local_time.hpp"
#include "tests/support/synthetic_profile.hpp"

using namespace wb;
using namespace wb::test;

namespace {

model_config tiny_model() {
  model_config c;
  c.family = "llama", c.layers = 4, c.dim = 256, c.heads = 8, c.kv_heads = 4, c.ffn = 688, c.vocab = 4096, c.seq_len = 256;
  c.precision = "fp32", c.tied_embeddings = true;
  return c;
}

plan_layout layout(int tp, int pp, int v, int dp, int microbatch, int global_batch) {
  plan_layout l;
  l.instance = "local", l.tp = tp, l.pp = pp, l.virtual_stages = v, l.dp = dp, l.devices = tp * pp * dp;
  l.microbatch = microbatch, l.global_batch = global_batch, l.microbatches = global_batch / (microbatch * dp);
  return l;
}

}  // namespace

TEST_CASE("Tensor parallel adds its collectives: 4 all-reduces of the activations per layer and 2 at the ends",
          "[plan][time][tp]") {
  model_config c = tiny_model();
  device_profile p = synthetic_profile();
  add_synthetic_collectives(p);
  plan_layout l = layout(2, 1, 1, 1, 8, 8);
  plan_time t = local_parallel_step_time(c, l, p, 2);
  double N = 8.0 * 256, activations = 4 * N * c.dim;
  // The tp group is a sub_collective: its all-reduce is a reduce-scatter and an all-gather.
  auto all_reduce = [&](double bytes) {
    return local_collective_seconds(p, collective_op::reduce_scatter, bytes, 2) + local_collective_seconds(p, collective_op::all_gather, bytes, 2);
  };
  double expected = (4 * c.layers + 2) * all_reduce(activations) +
                    local_collective_seconds(p, collective_op::all_gather, 4 * N * 2, 2) +  // the loss's row maxima
                    all_reduce(4 * 2 * N) +                                                // its sums
                    all_reduce(16);                                                        // the norm
  CHECK(t.tp_comm_s == Approx(expected));
  CHECK(t.bubble_s == 0);
  CHECK(t.pp_comm_s == 0);
  SECTION("each rank computes less than the whole model") {
    plan_time one = local_step_time(c, layout(1, 1, 1, 1, 8, 8), p);
    CHECK(t.compute_s < 0.75 * one.compute_s);
    CHECK(t.compute_s > 0.4 * one.compute_s);
  }
  SECTION("sequence parallel moves the same volume as a gather and a reduce-scatter") {
    l.sequence_parallel = true;
    CHECK(local_parallel_step_time(c, l, p, 2).tp_comm_s > 0);
  }
}

TEST_CASE("One rank through the parallel model is the one-process op model", "[plan][time][pp]") {
  model_config c = tiny_model();
  device_profile p = synthetic_profile();
  plan_layout l = layout(1, 1, 1, 1, 4, 8);
  plan_time a = local_parallel_step_time(c, l, p, 2), b = local_step_time(c, l, p);
  CHECK(a.compute_s == Approx(b.compute_s));
  CHECK(a.optimizer_s == Approx(b.optimizer_s));
  CHECK(a.step_s == Approx(b.step_s));
}

TEST_CASE("Two pipeline stages halve each rank's compute and expose a bubble; interleaving shrinks it", "[plan][time][pp]") {
  model_config c = tiny_model();
  device_profile p = synthetic_profile();
  add_synthetic_collectives(p);
  plan_time one = local_step_time(c, layout(1, 1, 1, 1, 2, 8), p);
  plan_time pp2 = local_parallel_step_time(c, layout(1, 2, 1, 1, 2, 8), p, 2);
  plan_time pp2v2 = local_parallel_step_time(c, layout(1, 2, 2, 1, 2, 8), p, 2);
  CHECK(pp2.compute_s < 0.7 * one.compute_s);
  CHECK(pp2.bubble_s > 0);
  CHECK(pp2.pp_comm_s > 0);
  CHECK(pp2v2.bubble_s < pp2.bubble_s);
  CHECK(pp2.step_s == Approx(pp2.compute_s + pp2.tp_comm_s + pp2.dp_comm_s + pp2.pp_comm_s + pp2.bubble_s + pp2.optimizer_s));
}

TEST_CASE("Four ranks on two cores take longer than on four", "[plan][time][pp]") {
  model_config c = tiny_model();
  device_profile p = synthetic_profile();
  add_synthetic_collectives(p);
  plan_layout l = layout(2, 2, 1, 1, 2, 8);
  plan_time two = local_parallel_step_time(c, l, p, 2), four = local_parallel_step_time(c, l, p, 4);
  CHECK(two.step_s > 1.3 * four.step_s);
  CHECK(two.step_s < 2.0 * four.step_s);
  plan_time dp_pp = local_parallel_step_time(c, layout(1, 2, 1, 2, 2, 8), p, 2);
  CHECK(dp_pp.dp_comm_s > 0);
}
