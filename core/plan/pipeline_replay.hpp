// The order in which one pipeline stage runs its forwards and backwards in a training step, taken
// from the engine's own schedules (core/parallel/pipeline_schedule.cpp, 1F1B and interleaved) run
// against a collective that moves nothing and work that computes nothing. The planner walks this
// order to know which microbatches' activations a stage holds at each moment (local_memory.cpp),
// and, with the sends and receives between the passes, to time a step (pipeline_timeline.hpp).
#pragma once
#include <cstdint>
#include <vector>

#include "core/model/pipeline_stage.hpp"

namespace wb {

struct pipeline_event {
  bool forward = true;  // else a backward
  int chunk = 0;        // local chunk (pipeline_stage.hpp)
  int microbatch = 0;
};

// Every forward and backward of `microbatches` microbatches on `stage`, in the order it runs them.
// Throws std::invalid_argument as run_pipeline_step does (interleaved: microbatches a multiple of
// the stages).
std::vector<pipeline_event> pipeline_replay(const pipeline_stage& stage, int microbatches);

// One point-to-point operation of a batch the schedule posts (collective::send_recv).
struct pipeline_message {
  bool send = true;  // else a receive
  int peer = 0;      // the other stage
  uint32_t tag = 0;  // forward_tag or backward_tag (pipeline_schedule.hpp)
};

// A pass, or a batch of sends and receives that completes as a whole (`exchange`).
struct pipeline_step_event {
  enum kind_t { forward, backward, exchange } kind = forward;
  int chunk = 0, microbatch = 0;           // forward and backward
  std::vector<pipeline_message> messages;  // exchange
};

// The same order with every exchange between the passes, as the stage posts them.
std::vector<pipeline_step_event> pipeline_replay_exchanges(const pipeline_stage& stage, int microbatches);

}  // namespace wb
