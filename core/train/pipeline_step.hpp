// A pipeline stage's part of a training step or of an evaluation: the model's chunks
// (model::chunk_forward) run under the schedules of core/parallel/pipeline_schedule.hpp, one tape
// per microbatch in flight, and what pipeline parallel adds after backward: the tied embedding's two
// copies get the sum of their gradients, and the gradient norm covers every stage.
#pragma once
#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"
#include "core/tensor/tape.hpp"
#include "core/train/grad_norm.hpp"

namespace wb {

// Forward and backward of every microbatch (rows of `microbatch` of tokens and targets (rows, T)) on
// this stage, each loss backpropagated with seed `seed`; accumulates into the gradient arena.
// Returns the sum of the microbatch losses, the same on every stage of `pipeline`.
// last_microbatch_hooks: set on the tape of each chunk's last microbatch (the overlapped gradient
// reduction's, core/parallel/grad_reduce_overlap.hpp), whose backward leaves each layer's gradients
// final.
double pipeline_forward_backward(const model& m, compute_backend& backend, collective& pipeline, const tensor& tokens,
                                 const tensor& targets, int microbatch, recompute_mode rc, float seed,
                                 const layer_hooks* last_microbatch_hooks = nullptr);

// The sum of the microbatch losses without gradients (evaluation), the same on every stage.
double pipeline_forward_loss(const model& m, compute_backend& backend, collective& pipeline, const tensor& tokens,
                             const tensor& targets, int microbatch);

// Tied embeddings split over stages: the first and last stage exchange the embedding's gradient and
// both keep the sum, so the two copies take the same update. Nothing for untied models or one stage.
void pipeline_sum_tied_gradients(const model& m, collective& pipeline);

// The norm over every parameter of the model from this rank's grad_norm of its arena: the tied copy
// counted once, tensor-parallel shards summed over the tp group (tensor_parallel_grad_norm), then
// the stages' squares summed; finite only when every rank's gradient is.
grad_stats pipeline_grad_norm(const model& m, collective& pipeline, const grad_stats& local);

// The same from a stage's norm that already excludes the tied copy and covers the stage's whole
// model-parallel part (ZeRO-1: zero1_reduce_gradients with uncounted = tied_copy_ranges).
grad_stats pipeline_sum_norms(collective& pipeline, const grad_stats& stage);
// Where the tied embedding's copy sits in the model's arenas (empty on other stages).
std::vector<chunk> tied_copy_ranges(const model& m);

}  // namespace wb
