// bf16 mixed precision (model.precision = "bf16"), laid out as PyTorch autocast and Megatron-LM's
// bf16 training do it, on a CPU without bf16 arithmetic (Zen 3: AVX2, no AVX512-BF16):
// - fp32 master weights, fp32 gradients and fp32 AdamW state (parameters, gradients,
//   optimizer_state): the optimizer, clipping and checkpoints see what an fp32 run has, so
//   checkpoints and resume stay exact. No loss scaling: bf16 keeps fp32's exponent range
//   (Kalamkar et al. 2019, "A Study of BFLOAT16 for Deep Learning Training", sec. 3).
// - Each weight GEMM reads a bf16 copy of its weight, made in the forward (charged to
//   `parameters`, alive until backward has used it: 2 bytes a weight on top of the fp32 master)
//   and a bf16 copy of its activation input (charged to `activations`): backward keeps these bf16
//   copies instead of the fp32 tensors, halving the saved GEMM inputs.
// - Attention rounds its probabilities to bf16 for P V and keeps them in bf16: the largest saved
//   activation, (B, NH, T, T), is halved.
// - Norms, RoPE, residual adds, SwiGLU, softmax and cross-entropy read and write fp32, as in
//   autocast's fp32 list. Kernels widen bf16 to fp32 and accumulate in fp32, so a bf16 run differs
//   from fp32 by the rounding of GEMM inputs and of P only (tests/core/model/mixed_precision_test.cpp).
#pragma once
#include "core/model/model.hpp"

namespace wb {

// x itself in fp32 runs; in bf16 runs its bf16 copy, the one a GEMM's backward keeps. Cast once
// and pass the result to every GEMM that reads x.
var gemm_input(tape& tp, const model& m, const var& x);

// x (.., K) times w (N, K) transposed -> (.., N) fp32, x from gemm_input; in bf16 runs w is read
// through its bf16 copy.
var linear(tape& tp, const model& m, const var& x, const var& w);

}  // namespace wb
