// The order in which one pipeline stage runs its forwards and backwards in a training step, taken
// from the engine's own schedules (core/parallel/pipeline_schedule.cpp, 1F1B and interleaved) run
// against a collective that moves nothing and work that computes nothing. The planner walks this
// order to know which microbatches' activations a stage holds at each moment (local_memory.cpp).
#pragma once
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

}  // namespace wb
