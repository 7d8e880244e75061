// The wall-clock timeline of one pipeline-parallel step on this machine: every stage runs its
// passes and exchanges in the engine's own order (pipeline_replay_exchanges), each pass taking its
// priced seconds, each batch of sends and receives completing when both sides of every message in
// it have posted it, plus one message's transfer time (a send waits for its receiver, as the
// schedules assume: pipeline_schedule.hpp). The bubble is what this exposes, not a formula; with
// equal stages and free messages it is Narayanan et al. 2021's (p-1)/(m+p-1) of the step for 1F1B
// and (p-1)/(v m+p-1) interleaved (tests/core/plan/pipeline_timeline_test.cpp).
// Ranks may outnumber cores: passes running at once share the cores (processor sharing: each runs
// at min(1, cores / threads computing) of its one-rank speed); a rank waiting for a message takes
// no core (the fabric's waits yield, then sleep: backends/fabric/fabric_collective.cpp).
#pragma once
#include <vector>

namespace wb {

// What one stage's passes cost, per microbatch, by local chunk. `*_tp_s`: the tensor-parallel
// collectives inside the pass, run like compute (shm copies by the CPU) but reported apart.
struct pipeline_stage_costs {
  std::vector<double> forward_s, backward_s;        // [local chunk]
  std::vector<double> forward_tp_s, backward_tp_s;  // [local chunk]
};

struct pipeline_timeline_input {
  int stages = 1, virtual_stages = 1, microbatches = 1;
  std::vector<pipeline_stage_costs> costs;  // [stage]
  double message_s = 0;        // one activation or gradient between neighbouring stages
  int ranks_per_stage = 1;     // tp x dp ranks running each stage's schedule side by side
  int threads_per_rank = 1;
  int cores = 1;               // the machine's; every rank shares them
};

struct pipeline_timeline_result {
  double step_s = 0;                 // the last stage to finish
  std::vector<double> finish_s;      // [stage] when its last pass or exchange ended
  std::vector<double> compute_s;     // [stage] wall seconds in its passes (stretched when sharing cores)
  std::vector<double> tp_s;          // [stage] of which its tensor-parallel collectives
};

// Throws std::invalid_argument as the schedule does (interleaved: microbatches a multiple of the
// stages) and std::logic_error if the stages could never all finish (a schedule that deadlocks).
pipeline_timeline_result pipeline_timeline(const pipeline_timeline_input& in);

}  // namespace wb
