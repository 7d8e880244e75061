// The collective part of this machine's device profile: all-reduce, reduce-scatter and all-gather
// time by message size between local rank processes over the fabric collective (libfabric, as
// `wb run --nproc` uses it), for `wb plan --calibrate` and bench/plan_calibration. It lives here
// because core/ does not link libfabric; the table and the model that reads it are core/plan's
// (device_profile.hpp, local_time.hpp).
#pragma once
#include "core/plan/device_profile.hpp"

namespace wb {

// Forks `ranks` processes on loopback and fills p.collectives and p.collective_ranks. Call it
// before anything in this process starts threads (the compute profile does). Throws
// std::runtime_error naming what failed (a provider that does not start, a rank that died).
void measure_collectives(device_profile& p, int ranks);

}  // namespace wb
