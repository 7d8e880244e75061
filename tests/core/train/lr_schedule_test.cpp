// Learning-rate schedule: warm-up, the three decays and their end points.
#include <catch2/catch.hpp>

#include "core/train/lr_schedule.hpp"

using namespace wb;

TEST_CASE("warm-up rises linearly, then cosine decays to lr_min", "[train][lr]") {
  optim_config o;
  o.lr = 1.0, o.lr_min = 0.1, o.warmup_steps = 4, o.schedule = "cosine";
  CHECK(lr_at(o, 0, 104) == Approx(0.2));
  CHECK(lr_at(o, 3, 104) == Approx(0.8));
  CHECK(lr_at(o, 4, 104) == Approx(1.0));
  CHECK(lr_at(o, 54, 104) == Approx(0.55));  // halfway: lr_min + (lr - lr_min) / 2
  CHECK(lr_at(o, 104, 104) == Approx(0.1));
  CHECK(lr_at(o, 500, 104) == Approx(0.1));
}

TEST_CASE("linear and constant schedules", "[train][lr]") {
  optim_config o;
  o.lr = 2.0, o.lr_min = 0.0, o.warmup_steps = 0, o.schedule = "linear";
  CHECK(lr_at(o, 0, 10) == Approx(2.0));
  CHECK(lr_at(o, 5, 10) == Approx(1.0));
  o.schedule = "constant";
  CHECK(lr_at(o, 9, 10) == Approx(2.0));
}
