// The step timeline over the engine's schedules (core/plan/pipeline_timeline.cpp) on hand-set pass
// costs: the bubble it exposes against Narayanan et al. 2021's closed forms, the sends, and ranks
// sharing cores.
#include <catch2/catch.hpp>

#include "core/plan/pipeline_timeline.hpp"

using namespace wb;

namespace {

// Every stage alike: forward f and backward b seconds per microbatch over the stage's v chunks.
pipeline_timeline_input equal_stages(int p, int v, int m, double f, double b) {
  pipeline_timeline_input in;
  in.stages = p, in.virtual_stages = v, in.microbatches = m, in.cores = 64;
  for (int s = 0; s < p; ++s) in.costs.push_back({std::vector<double>(size_t(v), f / v), std::vector<double>(size_t(v), b / v), {}, {}});
  return in;
}

double bubble_fraction(const pipeline_timeline_result& r, int m, double f, double b) { return 1 - m * (f + b) / r.step_s; }

}  // namespace

TEST_CASE("1F1B over equal stages with free sends idles (p-1)/(m+p-1) of the step", "[plan][time][pipeline]") {
  int p = GENERATE(2, 4), m = GENERATE(1, 4, 8);
  auto r = pipeline_timeline(equal_stages(p, 1, m, 1.0, 2.0));
  INFO("p = " << p << ", m = " << m);
  CHECK(r.step_s == Approx((m + p - 1) * 3.0));
  CHECK(bubble_fraction(r, m, 1.0, 2.0) == Approx(double(p - 1) / (m + p - 1)));
  for (int s = 0; s < p; ++s) CHECK(r.compute_s[size_t(s)] == Approx(m * 3.0));  // each stage's own work, unstretched
}

TEST_CASE("Interleaving v chunks per stage shrinks the bubble to about 1/v of 1F1B's", "[plan][time][pipeline]") {
  int p = GENERATE(2, 4);
  int m = 2 * p;
  double plain = pipeline_timeline(equal_stages(p, 1, m, 1.0, 2.0)).step_s - m * 3.0;
  double two = pipeline_timeline(equal_stages(p, 2, m, 1.0, 2.0)).step_s - m * 3.0;
  INFO("p = " << p << ", 1F1B bubble " << plain << " s, interleaved " << two << " s");
  CHECK(plain == Approx((p - 1) * 3.0));
  CHECK(two < plain);
  // Narayanan et al. 2021 section 2.2.2: (p-1)(tf+tb)/v; the engine's synchronous batches
  // (Megatron-LM's order) may add a little to it, never reach 1F1B's.
  CHECK(two >= Approx((p - 1) * 3.0 / 2).margin(1e-9));
  CHECK(two <= 0.75 * plain);
}

TEST_CASE("Each send between stages waits for its receiver and adds its transfer", "[plan][time][pipeline]") {
  // One microbatch through two stages: F0, send, F1, B1, send, B0, all in sequence.
  auto in = equal_stages(2, 1, 1, 1.0, 2.0);
  in.message_s = 0.25;
  auto r = pipeline_timeline(in);
  CHECK(r.step_s == Approx(6.0 + 2 * 0.25));
}

TEST_CASE("Ranks beyond the cores share them while they compute at once", "[plan][time][pipeline]") {
  SECTION("one stage of four one-thread ranks on two cores runs at half speed") {
    auto in = equal_stages(1, 1, 4, 1.0, 2.0);
    in.ranks_per_stage = 4, in.cores = 2;
    auto r = pipeline_timeline(in);
    CHECK(r.step_s == Approx(2 * 4 * 3.0));
    CHECK(r.compute_s[0] == Approx(2 * 4 * 3.0));
  }
  SECTION("two stages of two ranks on two cores: fill and drain at full speed, the rest at half") {
    auto alone = equal_stages(2, 1, 4, 1.0, 2.0);
    auto shared = alone;
    shared.ranks_per_stage = 2, shared.cores = 2;
    double t1 = pipeline_timeline(alone).step_s, t2 = pipeline_timeline(shared).step_s;
    CHECK(t2 > t1);
    CHECK(t2 < 2 * t1);
  }
}

TEST_CASE("A timeline refuses an interleaved step whose microbatches do not fill the stages", "[plan][time][pipeline]") {
  CHECK_THROWS_AS(pipeline_timeline(equal_stages(2, 2, 3, 1.0, 2.0)), std::invalid_argument);
}
