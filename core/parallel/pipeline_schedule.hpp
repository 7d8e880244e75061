// Pipeline-parallel schedules: the order in which one stage runs the forward and backward passes of
// a step's microbatches and exchanges activations and their gradients with its neighbours.
//
// - 1F1B (PipeDream-Flush; Narayanan et al. 2021, section 2.2.1, Figure 4 top): stage s of p runs
//   min(p - s - 1, m) warm-up forwards, then alternates one forward and one backward, then drains
//   the remaining backwards. A stage holds at most p - s microbatches' activations.
// - Interleaved (same paper, Figure 4 bottom): each stage holds v model chunks; microbatches go
//   through the chunks in groups of p, and the bubble shrinks by v. Needs m to be a multiple of p.
//
// Both are ports of Megatron-LM's forward_backward_pipelining_without_interleaving and
// forward_backward_pipelining_with_interleaving (megatron/core/pipeline_parallel/schedules.py,
// non-overlapped communication): the same order of computation and the same pairing of sends and
// receives into batches (collective::send_recv), which is what keeps them free of deadlock when a
// send waits for its receiver. Activations go to the next stage with tag `forward_tag`, gradients to
// the previous one with `backward_tag`; under interleaving the stages form a ring (the last stage's
// chunk c feeds stage 0's chunk c + 1).
#pragma once
#include "core/model/pipeline_stage.hpp"
#include "core/parallel/collective.hpp"
#include "core/tensor/tensor.hpp"

namespace wb {

// What a stage computes; the schedule decides when. Microbatches of one chunk run forward in order
// 0, 1, ... and backward in the same order.
class pipeline_work {
 public:
  virtual ~pipeline_work() = default;
  // Local chunk `chunk` forward on microbatch `mb` from `input` (empty for the chunk that holds the
  // embedding); returns the activations for the next chunk (empty from the last chunk).
  virtual tensor forward(int chunk, int mb, const tensor& input) = 0;
  // The backward of that forward, from the gradient of its output (empty for the last chunk, whose
  // output is the loss); returns the gradient of its input (empty for the embedding chunk).
  virtual tensor backward(int chunk, int mb, const tensor& output_grad) = 0;
  // An uninitialised tensor of the activations' shape, to receive activations or gradients into.
  virtual tensor receive_buffer() = 0;
};

// Tags on the pipeline group: activations, their gradients, and the tied embedding's gradient that
// the first and last stage exchange after backward (core/train/pipeline_step.hpp).
constexpr uint32_t forward_tag = 1, backward_tag = 2, tied_gradient_tag = 3;

// One training step's forwards and backwards of `microbatches` microbatches on this stage; `group` is
// the pipeline group (rank i is stage i). Throws std::invalid_argument when the interleaved schedule
// gets a microbatch count that is not a multiple of the stages.
void run_pipeline_step(collective& group, const pipeline_stage& stage, int microbatches, pipeline_work& work);

// Forwards only (evaluation): every microbatch through every chunk in order, no activations kept.
void run_pipeline_forward(collective& group, const pipeline_stage& stage, int microbatches, pipeline_work& work);

}  // namespace wb
