// Element types a tensor buffer can hold. Compute is fp32 everywhere; bf16 is a storage format
// (halves the bytes of parameters or saved activations) converted at the edges, because
// Eigen::bfloat16 products are emulated and slow on this CPU (shared/reference/benchmarking.md).
#pragma once
#include <cstddef>
#include <cstdint>

namespace wb {

enum class dtype : uint8_t { f32, bf16, i32 };

size_t dtype_size(dtype t);
const char* dtype_name(dtype t);

// Round-to-nearest-even, NaN kept quiet: the conversion PyTorch and the AVX512-BF16 VCVTNEPS2BF16
// instruction use (Intel Architecture Instruction Set Extensions Reference, ch. "BF16").
uint16_t bf16_from_float(float x);
float bf16_to_float(uint16_t x);

}  // namespace wb
