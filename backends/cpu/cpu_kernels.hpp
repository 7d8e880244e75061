// Kernel entry points of the CPU backend, one forward/backward pair per op, and the two parallel
// loops they share. Internal to backends/cpu.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/tensor/op.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace wb::cpu {

#define WB_CPU_OP(name)                                       \
  void name##_forward(op_call& c, int threads);               \
  void name##_backward(const op_call& c, const tensor& dout, \
                       std::vector<tensor>& din, int threads);
WB_CPU_OP(matmul)
WB_CPU_OP(add)
WB_CPU_OP(mul)
WB_CPU_OP(embedding)
WB_CPU_OP(rmsnorm)
WB_CPU_OP(layernorm)
WB_CPU_OP(rope)
WB_CPU_OP(attention)
WB_CPU_OP(swiglu)
WB_CPU_OP(gelu)
WB_CPU_OP(softmax)
WB_CPU_OP(cross_entropy)
WB_CPU_OP(to_bf16)
#undef WB_CPU_OP

// t's elements as fp32: t's own buffer when fp32, else t widened into `widened` (allocated here,
// charged to temporaries, freed with it). convert.cpp.
const float* f32_operand(const tensor& t, tensor& widened, int threads);

// Below this many elements of work a loop runs on one thread: waking a team costs more than it
// saves (PyTorch's at::internal::GRAIN_SIZE is the same 32768).
constexpr int64_t parallel_grain = 32768;
inline int team(int threads, int64_t work) { return work >= parallel_grain ? threads : 1; }

// f(i) for i in [0, n) over threads, in 8 contiguous blocks a thread taken by whichever thread is
// free (a thread descheduled by other jobs on the cores then delays one block, not its half of the
// loop); `work` is the elements touched in all (default n). Every kernel gives each output to one
// thread, so results never depend on the split.
template <class F>
void parallel_for(int64_t n, int threads, F f, int64_t work = -1) {
  int nt = team(threads, work < 0 ? n : work);
  int64_t block = std::max<int64_t>(1, (n + 8 * nt - 1) / (8 * nt));
#pragma omp parallel for num_threads(nt) schedule(dynamic, block)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// f(i) for i in [0, n), each i taken by whichever thread is free: for a few large, independent
// items (GEMM row chunks, attention heads) whose results do not depend on the thread that runs
// them. On cores shared with other jobs a descheduled thread then delays one item, not half the
// work, as a static split would.
template <class F>
void parallel_for_dynamic(int64_t n, int threads, F f, int64_t work) {
#pragma omp parallel for num_threads(team(threads, work)) schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// f(begin, end) on `threads` contiguous chunks of [0, n). Reductions that give each thread its own
// output columns stay deterministic whatever the thread count.
template <class F>
void parallel_chunks(int64_t n, int threads, F f, int64_t work) {
#pragma omp parallel num_threads(team(threads, work))
  {
    int64_t nt = 1, t = 0;
#ifdef _OPENMP
    nt = omp_get_num_threads();
    t = omp_get_thread_num();
#endif
    int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) f(begin, end);
  }
}

}  // namespace wb::cpu
