// Memory per device for a layout on an accelerator cluster: model states (Rajbhandari et al. 2020,
// ZeRO; Megatron-LM's distributed optimizer), activations (Korthikanti et al. 2022, extended to
// GQA, SwiGLU and RMSNorm and without dropout), the pipeline schedule's microbatches in flight
// (Narayanan et al. 2021; Megatron-LM theoretical_memory_usage.py), logits, communication
// buffers and a reserve. Every stage is computed; the plan reports the one that needs the most.
#pragma once
#include "core/catalog/instance.hpp"
#include "core/plan/plan.hpp"

namespace wb {

// Bytes of model state for `params` parameters held by a device of a data-parallel group of `dp`
// with ZeRO stage `zero`. Mixed precision (bf16): 2 (bf16 weights) + `grad_bytes` + 12 (fp32
// master, Adam m and v); fp32: 4 + 4 + 8.
struct model_state_bytes {
  double parameters = 0, gradients = 0, optimizer_state = 0;
  double total() const { return parameters + gradients + optimizer_state; }
};
model_state_bytes zero_model_states(double params, int dp, int zero, bool bf16, double grad_bytes);

// The vocabulary as Megatron-LM pads it: a multiple of 128 x tp (make-vocab-size-divisible-by).
long long padded_vocab(long long vocab, int tp);

// Activation bytes one transformer layer saves for backward, per microbatch of b sequences.
double layer_activation_bytes(const model_config& c, const plan_layout& l, const std::string& recompute);

// Memory of pipeline stage `stage` (0-based) on one device.
plan_memory stage_memory(const model_config& c, const plan_layout& l, const instance_spec& inst, int stage);

// The stage that needs the most memory, with its breakdown.
plan_memory device_memory(const model_config& c, const plan_layout& l, const instance_spec& inst);

// Per-device runtime reserve for an accelerator: CUDA/Neuron context, library workspaces, collective
// buffers and allocator fragmentation (docs/plan.md, "Reserve").
double accelerator_reserve_bytes(const instance_spec& inst);

}  // namespace wb
