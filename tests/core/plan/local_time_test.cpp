// The local time model (core/plan/local_time.cpp) on a profile with hand-set figures: each part
// of the step is checked against what the profile says it costs. How close it comes to measured
// steps is the calibration benchmark's question (bench/plan_calibration), not a test's.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/model/param_layout.hpp"
#include "core/plan/plan_flops.hpp"
#include "core/plan/plan_time.hpp"
#include "tests/support/synthetic_profile.hpp"

using namespace wb;
using namespace wb::test;

namespace {

model_config tiny_model() {
  model_config c;
  c.family = "llama", c.layers = 4, c.dim = 256, c.heads = 8, c.kv_heads = 4, c.ffn = 688, c.vocab = 4096, c.seq_len = 256;
  c.precision = "fp32";
  return c;
}

plan_layout layout(int dp, int zero, int microbatch, int global_batch, const char* recompute = "none") {
  plan_layout l;
  l.instance = "local", l.dp = l.devices = dp, l.zero = zero, l.microbatch = microbatch, l.global_batch = global_batch;
  l.microbatches = global_batch / (microbatch * dp);
  l.recompute = recompute;
  return l;
}

plan_time local_time(const model_config& c, const plan_layout& l, const device_profile& p) {
  instance_spec local;
  local.name = "local", local.is_local = true;
  return step_time(c, l, local, device_speed_of(local, &p));
}

}  // namespace

TEST_CASE("A local data-parallel plan charges the gradient exchange the collective table measured", "[plan][time]") {
  model_config c = tiny_model();
  device_profile p = synthetic_profile();
  add_synthetic_collectives(p);
  double grads = double(param_count(c)) * 4;  // beyond the table's 1 MiB: at its bandwidth
  double loss = 10e-6;                        // the loss's small all-reduce: the table's smallest
  SECTION("ZeRO-1: reduce-scatter of the gradients, all-gather of the parameters") {
    CHECK(local_time(c, layout(2, 1, 4, 8), p).dp_comm_s == Approx(grads / 2e9 + grads / 2e9 + loss));
  }
  SECTION("no ZeRO: one all-reduce") {
    CHECK(local_time(c, layout(2, 0, 4, 8), p).dp_comm_s == Approx(grads / 1e9 + loss));
  }
  SECTION("ZeRO-2: each microbatch reduce-scatters every bucket, the step all-gathers the parameters") {
    // Two microbatches; every bucket is beyond the table's 1 MiB (a layer is 2.9 MB, the outer ones 4.2 MB).
    CHECK(local_time(c, layout(2, 2, 2, 8), p).dp_comm_s == Approx(2 * grads / 2e9 + grads / 2e9 + loss));
  }
  SECTION("ZeRO-3: and each microbatch gathers every layer twice, the step only the outer parameters") {
    double outer = 0;
    for (const param_spec& s : param_layout(c))
      if (param_layer(s.name) < 0) outer += double(shape_numel(s.shape)) * 4;
    double layers = grads - outer;
    CHECK(local_time(c, layout(2, 3, 2, 8), p).dp_comm_s ==
          Approx(2 * (grads / 2e9 + 2 * layers / 2e9) + outer / 2e9 + loss));
  }
  SECTION("one rank exchanges nothing") {
    CHECK(local_time(c, layout(1, 1, 4, 8), p).dp_comm_s == 0);
  }
  SECTION("four ranks move (n-1)/n of the buffer, 3/2 of what two ranks move") {
    CHECK(local_time(c, layout(4, 0, 2, 8), p).dp_comm_s == Approx(1.5 * grads / 1e9 + 1.5 * loss).epsilon(0.01));
  }
  SECTION("without a table the exchange is not priced") {
    p.collectives.clear(), p.collective_ranks = 0;
    CHECK(local_time(c, layout(2, 1, 4, 8), p).dp_comm_s == 0);
  }
}

TEST_CASE("The local step's optimizer pass is the profile's cost per parameter over this rank's share", "[plan][time]") {
  model_config c = tiny_model();
  device_profile p = synthetic_profile();
  add_synthetic_collectives(p);
  double P = double(param_count(c));
  CHECK(local_time(c, layout(1, 0, 8, 8), p).optimizer_s == Approx(P * 1e-9));
  CHECK(local_time(c, layout(2, 1, 4, 8), p).optimizer_s == Approx(std::ceil(P / 2) * 1e-9));
  CHECK(local_time(c, layout(2, 0, 4, 8), p).optimizer_s == Approx(P * 1e-9));
}

TEST_CASE("Accumulation repeats the microbatch's compute; recompute adds what it reruns", "[plan][time]") {
  model_config c = tiny_model();
  device_profile p = synthetic_profile();
  plan_time one = local_time(c, layout(1, 0, 4, 4), p), two = local_time(c, layout(1, 0, 4, 8), p);
  CHECK(two.compute_s == Approx(2 * one.compute_s));
  // Selective: the attention backward rebuilds the probabilities, 3 instead of 2 times the core's
  // FLOPs at the (here equal) measured rates.
  double core = attention_core_flops(c, 4, 1, true);
  plan_time selective = local_time(c, layout(1, 0, 4, 4, "selective"), p);
  CHECK(selective.compute_s - one.compute_s == Approx(c.layers * core / 20e9));
  // A profile with the attention grid prices the kernel at the model's shape from it instead.
  for (int T : attention_seq_grid)
    for (int HD : attention_head_dim_grid)
      for (int G : attention_kv_group_grid) p.attention.push_back({T, HD, G, 40e9, 40e9, 40e9, 40e9});
  CHECK(local_time(c, layout(1, 0, 4, 4, "selective"), p).compute_s - local_time(c, layout(1, 0, 4, 4), p).compute_s ==
        Approx(c.layers * core / 40e9));
  p.attention.clear();
  // Full: every layer's forward once more, more than selective's rebuild.
  plan_time full = local_time(c, layout(1, 0, 4, 4, "full"), p);
  CHECK(full.compute_s > selective.compute_s);
  CHECK(full.compute_s < 2 * one.compute_s);
}

TEST_CASE("The tape's zeroing of activation gradients is priced at the measured fill bandwidth", "[plan][time]") {
  model_config c = tiny_model();
  device_profile p = synthetic_profile();
  plan_time with_fill = local_time(c, layout(1, 0, 8, 8), p);
  p.zero_fill_bandwidth = 0;  // not measured: not priced
  plan_time without = local_time(c, layout(1, 0, 8, 8), p);
  // Per token and layer 6C + 3F + 3Q + 3KV floats (Llama), then the logits, the output layer's
  // and the final norm's inputs.
  double N = 8.0 * 256, C = 256, F = 688, Q = 256, KV = 128, V = 4096;
  double bytes = 4 * N * (c.layers * (6 * C + 3 * F + 3 * Q + 3 * KV) + V + 2 * C);
  CHECK(with_fill.compute_s - without.compute_s == Approx(bytes / 20e9));
}
