// matmul: C = op(A) op(B) with Eigen GEMMs mapped on the raw buffers (no copies). A 2-D right
// operand with an untransposed left one folds the batch into M: one large GEMM, its rows split
// over the threads. Other batched products run one single-threaded GEMM per batch entry.
// bf16 operands (mixed precision) are widened to fp32 first, in a temporary of the operand's size:
// Eigen's bfloat16 products are emulated element by element, and this CPU has no BF16 instructions.
#include <algorithm>

#include <Eigen/Core>

#include "backends/cpu/cpu_kernels.hpp"

namespace wb::cpu {
namespace {

using mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Rows [m0, m0 + len) of C from the same rows of op(A): one single-threaded Eigen GEMM.
template <class X, class Y>
void put(Eigen::Map<mat>& c, const X& x, const Y& y, bool accumulate, int64_t m0, int64_t len) {
  if (accumulate) c.middleRows(m0, len).noalias() += x.middleRows(m0, len) * y;
  else c.middleRows(m0, len).noalias() = x.middleRows(m0, len) * y;
}

// C (M, N) (+)= op(A) (M, K) . op(B) (K, N); A is stored (K, M) when ta, B is stored (N, K) when tb.
// Large products split C's rows in `threads` static blocks, one Eigen GEMM each, instead of
// Eigen's own threading: no barriers inside the product, which matters when other jobs share
// the cores, and each block's arithmetic does not depend on what the other thread does.
void gemm(float* C, const float* A, bool ta, const float* B, bool tb, int64_t M, int64_t N, int64_t K, bool accumulate,
          int threads = 1) {
  Eigen::Map<mat> c(C, M, N);
  Eigen::Map<const mat> a(A, ta ? K : M, ta ? M : K), b(B, tb ? N : K, tb ? K : N);
  int64_t row_block = 64;  // keeps the split on Eigen's register-block boundaries
  int64_t blocks = (M + row_block - 1) / row_block;
  int team_size = M * N * K >= 64 * parallel_grain && blocks > 1 ? threads : 1;
  parallel_chunks(blocks, team_size, [&](int64_t b0, int64_t b1) {
    int64_t m0 = b0 * row_block, len = std::min(M, b1 * row_block) - m0;
    switch (int(ta) * 2 + int(tb)) {
      case 0: put(c, a, b, accumulate, m0, len); break;
      case 1: put(c, a, b.transpose(), accumulate, m0, len); break;
      case 2: put(c, a.transpose(), b, accumulate, m0, len); break;
      case 3: put(c, a.transpose(), b.transpose(), accumulate, m0, len); break;
    }
  }, parallel_grain);
}

struct dims {
  int64_t batch, M, N, K;
  bool b_shared;  // b is 2-D
};

dims matmul_dims(const op_call& c) {
  const tensor &A = c.in[0], &B = c.in[1];
  bool ta = c.attrs.trans_a, tb = c.attrs.trans_b;
  dims d;
  d.M = ta ? A.dim(-1) : A.dim(-2);
  d.K = ta ? A.dim(-2) : A.dim(-1);
  d.N = tb ? B.dim(-2) : B.dim(-1);
  d.batch = A.numel() / (d.M * d.K);
  d.b_shared = B.rank() == 2;
  if (d.b_shared && !ta) {  // (batch*M, K) x (K, N)
    d.M *= d.batch;
    d.batch = 1;
  }
  return d;
}

}  // namespace

void matmul_forward(op_call& c, int threads) {
  dims d = matmul_dims(c);
  tensor wa, wb;
  const float *A = f32_operand(c.in[0], wa, threads), *B = f32_operand(c.in[1], wb, threads);
  float* C = c.out.f32();
  bool ta = c.attrs.trans_a, tb = c.attrs.trans_b;
  if (d.batch == 1) return gemm(C, A, ta, B, tb, d.M, d.N, d.K, false, threads);
  int64_t sb = d.b_shared ? 0 : d.K * d.N;
  parallel_for(d.batch, threads, [&](int64_t i) {
    gemm(C + i * d.M * d.N, A + i * d.M * d.K, ta, B + i * sb, tb, d.M, d.N, d.K, false);
  }, d.batch * d.M * d.N * d.K);
}

void matmul_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  dims d = matmul_dims(c);
  tensor wa, wb;
  const float *A = din[1].defined() ? f32_operand(c.in[0], wa, threads) : nullptr;  // A only feeds dB
  const float *B = din[0].defined() ? f32_operand(c.in[1], wb, threads) : nullptr;  // B only feeds dA
  const float* dC = dout.f32();
  float* dA = din[0].defined() ? din[0].f32() : nullptr;
  float* dB = din[1].defined() ? din[1].f32() : nullptr;
  bool ta = c.attrs.trans_a, tb = c.attrs.trans_b;
  int64_t M = d.M, N = d.N, K = d.K, sa = M * K, sc = M * N, sb = d.b_shared ? 0 : K * N;
  // dA = dC op(B)^T, stored transposed when ta; dB = op(A)^T dC, stored transposed when tb.
  // th: threads inside one GEMM (1 when the batch entries already run in parallel)
  auto grad_a = [&](int64_t i, int th) {
    if (!ta) gemm(dA + i * sa, dC + i * sc, false, B + i * sb, !tb, M, K, N, true, th);
    else gemm(dA + i * sa, B + i * sb, tb, dC + i * sc, true, K, M, N, true, th);
  };
  auto grad_b = [&](int64_t i, int th) {
    if (!tb) gemm(dB + i * sb, A + i * sa, !ta, dC + i * sc, false, K, N, M, true, th);
    else gemm(dB + i * sb, dC + i * sc, true, A + i * sa, ta, N, K, M, true, th);
  };
  if (d.batch == 1) {
    if (dA) grad_a(0, threads);
    if (dB) grad_b(0, threads);
    return;
  }
  if (dA) parallel_for(d.batch, threads, [&](int64_t i) { grad_a(i, 1); }, d.batch * d.M * d.N * d.K);
  if (dB) {
    if (d.b_shared) for (int64_t i = 0; i < d.batch; ++i) grad_b(i, threads);  // one shared dB: in order
    else parallel_for(d.batch, threads, [&](int64_t i) { grad_b(i, 1); }, d.batch * d.M * d.N * d.K);
  }
}

}  // namespace wb::cpu
