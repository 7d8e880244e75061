// to_bf16: fp32 -> bf16 storage (bf16_convert.hpp), split over the threads in contiguous chunks.
// Backward is straight-through, as PyTorch autocast's casts: the rounding's derivative is taken
// as 1, so din += dout in fp32.
#include "backends/cpu/bf16_convert.hpp"
#include "backends/cpu/cpu_kernels.hpp"

namespace wb::cpu {

void to_bf16_forward(op_call& c, int threads) {
  const float* x = c.in[0].f32();
  uint16_t* y = c.out.bf16();
  int64_t n = c.out.numel();
  parallel_chunks(n, threads, [&](int64_t b, int64_t e) { bf16_round(x + b, y + b, e - b); }, n);
}

void to_bf16_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  if (!din[0].defined()) return;
  const float* dy = dout.f32();
  float* dx = din[0].f32();
  int64_t n = dout.numel();
  parallel_chunks(n, threads, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] += dy[i];
  }, n);
}

const float* f32_operand(const tensor& t, tensor& widened, int threads) {
  if (t.type() == dtype::f32) return t.f32();
  widened = tensor(t.shape(), mem_category::temporaries);
  const uint16_t* x = t.bf16();
  float* y = widened.f32();
  int64_t n = t.numel();
  parallel_chunks(n, threads, [&](int64_t b, int64_t e) { bf16_widen(x + b, y + b, e - b); }, n);
  return y;
}

}  // namespace wb::cpu
