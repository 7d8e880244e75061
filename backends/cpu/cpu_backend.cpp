// Dispatch from the op enum to the CPU kernels, and the thread setting.
#include "backends/cpu/cpu_backend.hpp"

#include <omp.h>

#include <cblas.h>

#include "backends/cpu/cpu_kernels.hpp"

namespace wb {

cpu_backend::cpu_backend(int threads) { set_threads(threads); }

void cpu_backend::set_threads(int threads) {
  threads_ = threads > 0 ? threads : omp_get_num_procs();
  openblas_set_num_threads(1);  // matmul.cpp and attention.cpp split products over threads themselves
}

#define WB_CPU_DISPATCH(call)                   \
  switch (c.op) {                               \
    case op_kind::matmul: cpu::matmul_##call;   \
    case op_kind::add: cpu::add_##call;         \
    case op_kind::mul: cpu::mul_##call;         \
    case op_kind::embedding: cpu::embedding_##call; \
    case op_kind::rmsnorm: cpu::rmsnorm_##call; \
    case op_kind::layernorm: cpu::layernorm_##call; \
    case op_kind::rope: cpu::rope_##call;       \
    case op_kind::attention: cpu::attention_##call; \
    case op_kind::swiglu: cpu::swiglu_##call;   \
    case op_kind::gelu: cpu::gelu_##call;       \
    case op_kind::softmax: cpu::softmax_##call; \
    case op_kind::cross_entropy: cpu::cross_entropy_##call; \
    case op_kind::to_bf16: cpu::to_bf16_##call; \
  }

void cpu_backend::forward(op_call& c) { WB_CPU_DISPATCH(forward(c, threads_); return) }

void cpu_backend::backward(const op_call& c, const tensor& dout, std::vector<tensor>& din) {
  WB_CPU_DISPATCH(backward(c, dout, din, threads_); return)
}

}  // namespace wb
