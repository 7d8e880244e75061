// matmul: C = op(A) op(B) with OpenBLAS SGEMMs on the raw buffers (no copies). A 2-D right operand
// with an untransposed left one folds the batch into M: one large GEMM, its rows split over the
// threads. Other batched products run one single-threaded GEMM per batch entry.
// bf16 operands (mixed precision) are widened to fp32 first, in a temporary of the operand's size:
// this CPU has no BF16 instructions, and fp32 GEMMs on widened copies cost one pass over the operand.
// Why OpenBLAS (Debian's libopenblas-dev, pthread variant) rather than Eigen's GEMM: on this Zen 3
// it runs 2048^3 SGEMM at 151.9 GFLOP/s on 2 threads against Eigen's 105.1 (docs/benchmarks.md,
// Training step, 2026-11-23). OpenBLAS runs single-threaded inside each of our row blocks
// (cpu_backend sets it), so the split, and the bits, depend only on the thread count we choose.
#include <algorithm>
#include <utility>
#include <vector>

#include <cblas.h>

#include "backends/cpu/cpu_kernels.hpp"

namespace wb::cpu {
namespace {

// C (M, N) (+)= op(A) (M, K) . op(B) (K, N); A is stored (K, M) when ta, B is stored (N, K) when tb.
// Large products split C's rows in fixed chunks, one single-threaded SGEMM each, taken by whichever
// thread is free, instead of the library's own threading: no barriers inside the product, and a
// thread descheduled by other jobs on the cores delays one chunk, not half the product.
// OpenBLAS's result for a row depends on how many rows the call has (measured: one call of M rows
// and two of M/2 differ in the last bits), so the chunks depend on M only, never on the thread
// count: the bits are the same on 1, 2 or 8 threads.
struct gemm_task {
  float* C;
  const float *A, *B;
  bool ta, tb;
  int64_t M, N, K;
  bool accumulate;
  int64_t rows;    // rows of C a chunk
  int64_t chunks;  // ceil(M / rows)

  gemm_task(float* C, const float* A, bool ta, const float* B, bool tb, int64_t M, int64_t N, int64_t K, bool accumulate)
      : C(C), A(A), B(B), ta(ta), tb(tb), M(M), N(N), K(K), accumulate(accumulate) {
    // Up to 4 chunks of at least 256 rows, a multiple of 64 (OpenBLAS's Haswell/Zen SGEMM kernels
    // work on 16-row panels); one chunk below 64 * parallel_grain multiply-adds. Each chunk packs
    // the whole shared operand again, so fewer, taller chunks run faster: on one Zen 3 core,
    // (512, 512, 2048) TN in chunks of 64 / 128 / 256 / 512 rows ran at 74 / 78 / 81 / 83 GFLOP/s,
    // (2048, 512, 512) NT at 74 / 79 / 81 / 83 (measured 2026-11-23, thread CPU time). Four
    // chunks still balance two threads, and dA and dB share one loop in backward (run_gemms).
    bool split = M * N * K >= 64 * parallel_grain;
    rows = split ? std::max<int64_t>(256, (M + 4 * 64 - 1) / (4 * 64) * 64) : M;
    chunks = (M + rows - 1) / rows;
  }
  void run_chunk(int64_t i) const {
    int64_t m0 = i * rows, len = std::min(M - m0, rows);
    const float* a = ta ? A + m0 : A + m0 * K;  // rows m0.. of op(A): columns of A when ta
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(len), int(N), int(K),
                1.0f, a, int(ta ? M : K), B, int(tb ? K : N), accumulate ? 1.0f : 0.0f, C + m0 * N, int(N));
  }
  int64_t work() const { return M * N * K; }
};

// Every chunk of every task in one parallel loop: independent products (dA and dB of one matmul)
// share one team and one barrier, so a thread that finishes its part of one takes chunks of the other.
// Largest chunks first (longest-processing-time order): a large single chunk taken last would
// leave the other threads idle while it runs.
void run_gemms(const std::vector<gemm_task>& tasks, int threads) {
  std::vector<std::pair<const gemm_task*, int64_t>> chunks;
  int64_t work = 0;
  for (const gemm_task& t : tasks) {
    for (int64_t i = 0; i < t.chunks; ++i) chunks.emplace_back(&t, i);
    work += t.chunks > 1 || tasks.size() > 1 ? t.work() : 0;  // a single-chunk task alone never wakes a team
  }
  auto chunk_work = [](const std::pair<const gemm_task*, int64_t>& c) { return c.first->work() / c.first->chunks; };
  std::stable_sort(chunks.begin(), chunks.end(), [&](const auto& a, const auto& b) { return chunk_work(a) > chunk_work(b); });
  int64_t n = int64_t(chunks.size());
  parallel_for_dynamic(n, n > 1 ? threads : 1, [&](int64_t i) { chunks[size_t(i)].first->run_chunk(chunks[size_t(i)].second); },
                       work / 64);
}

void gemm(float* C, const float* A, bool ta, const float* B, bool tb, int64_t M, int64_t N, int64_t K, bool accumulate,
          int threads = 1) {
  run_gemms({gemm_task(C, A, ta, B, tb, M, N, K, accumulate)}, threads);
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
  // dA = dC op(B)^T, stored transposed when ta; dB = op(A)^T dC, stored transposed when tb; i: batch entry
  auto grad_a = [&](int64_t i) {
    return !ta ? gemm_task(dA + i * sa, dC + i * sc, false, B + i * sb, !tb, M, K, N, true)
               : gemm_task(dA + i * sa, B + i * sb, tb, dC + i * sc, true, K, M, N, true);
  };
  auto grad_b = [&](int64_t i) {
    return !tb ? gemm_task(dB + i * sb, A + i * sa, !ta, dC + i * sc, false, K, N, M, true)
               : gemm_task(dB + i * sb, dC + i * sc, true, A + i * sa, ta, N, K, M, true);
  };
  if (d.batch == 1) {
    bool aliased = dA && dB && dA < dB + K * N && dB < dA + M * K;  // matmul(x, x): one gradient buffer
    if (dA && dB && !aliased) return run_gemms({grad_a(0), grad_b(0)}, threads);  // one parallel loop for both
    if (dA) run_gemms({grad_a(0)}, threads);
    if (dB) run_gemms({grad_b(0)}, threads);
    return;
  }
  // Batch entries in parallel, one single-threaded GEMM each
  if (dA) parallel_for(d.batch, threads, [&](int64_t i) { run_gemms({grad_a(i)}, 1); }, d.batch * d.M * d.N * d.K);
  if (dB) {
    if (d.b_shared) for (int64_t i = 0; i < d.batch; ++i) run_gemms({grad_b(i)}, threads);  // one shared dB: in order
    else parallel_for(d.batch, threads, [&](int64_t i) { run_gemms({grad_b(i)}, 1); }, d.batch * d.M * d.N * d.K);
  }
}

}  // namespace wb::cpu
