// Embedding lookup (token and learned position embeddings): rows of a (V, C) table gathered by
// i32 ids. Backward scatters into the table's gradient by column chunks, in id order.
#include <stdexcept>

#include <fmt/format.h>

#include "backends/cpu/cpu_kernels.hpp"

namespace wb::cpu {

// out (N, C) = weight[ids[n]]
void embedding_forward(op_call& c, int threads) {
  const float* w = c.in[0].f32();
  const int32_t* ids = c.in[1].i32();
  float* out = c.out.f32();
  int64_t V = c.in[0].dim(0), C = c.in[0].dim(1), N = c.in[1].numel();
  for (int64_t n = 0; n < N; ++n)
    if (ids[n] < 0 || ids[n] >= V) throw std::out_of_range(fmt::format("Invalid embedding id {}: expected 0 to {}", ids[n], V - 1));
  parallel_for(N, threads, [&](int64_t n) {
    for (int64_t i = 0; i < C; ++i) out[n * C + i] = w[ids[n] * C + i];
  }, N * C);
}

void embedding_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  if (!din[0].defined()) return;
  const int32_t* ids = c.in[1].i32();
  const float* dy = dout.f32();
  float* dw = din[0].f32();
  int64_t C = c.in[0].dim(1), N = c.in[1].numel();
  parallel_chunks(C, threads, [&](int64_t i0, int64_t i1) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = i0; i < i1; ++i) dw[ids[n] * C + i] += dy[n * C + i];
  }, N * C);
}

}  // namespace wb::cpu
