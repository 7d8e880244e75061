// Fused causal grouped-query attention: softmax(Q K^T / sqrt(HD) + causal mask) V per (batch,
// head), query head h reading kv head h / (NH / KVH). Probabilities are formed as
// exp(s - lse) from the row's log-sum-exp, so rebuilding them in backward from the saved lse
// (selective recomputation, Korthikanti et al. 2022) gives bit-identical values.
// The products are OpenBLAS SGEMMs that skip the masked upper triangle in 64-row blocks (block i
// reads keys [0, end of block i)): about half the GEMM work. Limits: a full T x T score buffer per
// thread, so T is meant to be in the low thousands at most. With attrs.probs_bf16 (mixed
// precision) the probabilities are rounded to bf16 before P V, as autocast's bf16 P V does, and
// kept in bf16: forward, backward and a recomputation all read the same values.
#include <algorithm>
#include <cmath>

#include <cblas.h>

#include "backends/cpu/bf16_convert.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "backends/cpu/vec_math.hpp"

namespace wb::cpu {
namespace {

// A row-major (rows, cols) matrix at `p` whose rows are `ld` floats apart: a head's (T, HD) slice of
// a (B, T, heads, HD) buffer has ld = heads * HD, a (T, T) score buffer ld = T.
struct view {
  float* p;
  int64_t ld;
  float* row(int64_t i) const { return p + i * ld; }
  const float* at(int64_t i, int64_t j) const { return p + i * ld + j; }
};

// C (M, N) = alpha op(A) (M, K) . op(B) (K, N) + beta C: one single-threaded OpenBLAS SGEMM (the
// heads already run in parallel). A is stored (K, M) when ta, B (N, K) when tb. OpenBLAS rather
// than Eigen: on these shapes (64-row blocks, HD = 64, T = 512) it runs 61-71 GFLOP/s on one Zen 3
// core against Eigen 3.4's 46-52 (measured 2026-11-23, thread CPU time, 64-row causal blocks).
void block_gemm(const float* A, int64_t lda, bool ta, const float* B, int64_t ldb, bool tb, float* C, int64_t ldc, int64_t M,
                int64_t N, int64_t K, float alpha, float beta) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K), alpha, A,
              int(lda), B, int(ldb), beta, C, int(ldc));
}

struct geometry {
  int64_t B, T, NH, KVH, HD;
  float scale;
  geometry(const op_call& c)
      : B(c.in[0].dim(0)), T(c.in[0].dim(1)), NH(c.in[0].dim(2)), KVH(c.in[1].dim(2)), HD(c.in[0].dim(3)),
        scale(1.0f / std::sqrt(float(HD))) {}
  // (T, HD) view of head h of batch b in a (B, T, heads, HD) buffer
  view head(const float* base, int64_t b, int64_t h, int64_t heads) const {
    return {const_cast<float*>(base) + (b * T * heads + h) * HD, heads * HD};
  }
};

constexpr int64_t causal_block = 64;  // rows a block: a multiple of OpenBLAS's 16-row Zen SGEMM panels

// One past the last column of row i's diagonal block: the products read a row up to there, so the
// entries above the diagonal inside the block must be zero; those after it are never read.
int64_t block_end(int64_t i, int64_t T) { return std::min(T, (i / causal_block + 1) * causal_block); }

// f(i0, len) over the 64-row blocks of [0, T)
template <class F>
void for_blocks(int64_t T, F f) {
  for (int64_t i0 = 0; i0 < T; i0 += causal_block) f(i0, std::min(causal_block, T - i0));
}

// P (T, T) = causal softmax(scale Q K^T); lse (T) written when `write_lse`, else read. Entries
// above the diagonal are zero up to the end of their row's block (block_end), the rest unset
// unless `zero_all` (for a buffer that is converted whole, as bf16 rounding does).
void probabilities(const geometry& g, const view& q, const view& k, const view& p, float* lse, bool write_lse, bool zero_all) {
  for_blocks(g.T, [&](int64_t i0, int64_t len) {  // (len, i0 + len): the rest of the rows is masked
    block_gemm(q.row(i0), q.ld, false, k.p, k.ld, true, p.row(i0), p.ld, len, i0 + len, g.HD, g.scale, 0.0f);
  });
  for (int64_t i = 0; i < g.T; ++i) {
    float* row = p.row(i);
    if (write_lse) lse[i] = log_sum_exp(row, i + 1);
    exp_shifted(row, row, i + 1, lse[i]);
    std::fill(row + i + 1, row + (zero_all ? g.T : block_end(i, g.T)), 0.0f);
  }
}

}  // namespace

// out (B, T, NH, HD); saved[0] lse (B, NH, T); saved[1] probs (B, NH, T, T) fp32 or bf16 when kept
void attention_forward(op_call& c, int threads) {
  geometry g(c);
  const float *q = c.in[0].f32(), *k = c.in[1].f32(), *v = c.in[2].f32();
  float *out = c.out.f32(), *lse = c.saved[0].f32();
  bool keep = c.saved.size() > 1;
  bool round_probs = c.attrs.probs_bf16;
  tensor scratch({threads, g.T, g.T}, mem_category::temporaries);
  parallel_for_dynamic(g.B * g.NH, threads, [&](int64_t bh) {  // each (b, h) writes only its own outputs
    int64_t b = bh / g.NH, h = bh % g.NH, kh = h / (g.NH / g.KVH);
#ifdef _OPENMP
    int t = omp_get_thread_num();
#else
    int t = 0;
#endif
    float* pbuf = keep && !round_probs ? c.saved[1].f32() + bh * g.T * g.T : scratch.f32() + t * g.T * g.T;
    view p{pbuf, g.T};
    view Q = g.head(q, b, h, g.NH), K = g.head(k, b, kh, g.KVH), V = g.head(v, b, kh, g.KVH), O = g.head(out, b, h, g.NH);
    probabilities(g, Q, K, p, lse + bh * g.T, true, round_probs);
    if (round_probs && keep) {
      uint16_t* kept = c.saved[1].bf16() + bh * g.T * g.T;
      bf16_round(pbuf, kept, g.T * g.T);
      bf16_widen(kept, pbuf, g.T * g.T);
    } else if (round_probs) {
      bf16_round_in_place(pbuf, g.T * g.T);
    }
    for_blocks(g.T, [&](int64_t i0, int64_t len) {  // O rows i0.. = P (len, i0 + len) V (i0 + len, HD)
      block_gemm(p.row(i0), p.ld, false, V.p, V.ld, false, O.row(i0), O.ld, len, g.HD, i0 + len, 1.0f, 0.0f);
    });
  }, g.B * g.NH * g.T * g.T);
}

// dV += P^T dO; dP = dO V^T; dS = P * (dP - rowsum(P * dP)); dQ += scale dS K; dK += scale dS^T Q.
// Parallel over (batch, kv head) so the query heads sharing a kv head accumulate in one thread.
void attention_backward(const op_call& c, const tensor& dout, std::vector<tensor>& din, int threads) {
  geometry g(c);
  const float *q = c.in[0].f32(), *k = c.in[1].f32(), *v = c.in[2].f32(), *dy = dout.f32();
  const float* lse = c.saved[0].f32();
  bool kept = c.saved.size() > 1;
  for (auto& d : din)
    if (!d.defined()) d = tensor::zeros(c.in[&d - din.data()].shape(), mem_category::temporaries);
  float *dq = din[0].f32(), *dk = din[1].f32(), *dv = din[2].f32();
  tensor scratch({threads, 2, g.T, g.T}, mem_category::temporaries);
  int64_t group = g.NH / g.KVH;
  parallel_for_dynamic(g.B * g.KVH, threads, [&](int64_t bk) {  // each (b, kv head) accumulates only its own
    int64_t b = bk / g.KVH, kh = bk % g.KVH;
#ifdef _OPENMP
    int t = omp_get_thread_num();
#else
    int t = 0;
#endif
    float* s0 = scratch.f32() + t * 2 * g.T * g.T;
    view dp{s0 + g.T * g.T, g.T};
    view K = g.head(k, b, kh, g.KVH), V = g.head(v, b, kh, g.KVH), dK = g.head(dk, b, kh, g.KVH), dV = g.head(dv, b, kh, g.KVH);
    for (int64_t h = kh * group; h < (kh + 1) * group; ++h) {
      int64_t bh = b * g.NH + h;
      view Q = g.head(q, b, h, g.NH), dO = g.head(dy, b, h, g.NH), dQ = g.head(dq, b, h, g.NH);
      bool round_probs = c.attrs.probs_bf16;
      float* pbuf = kept && !round_probs ? c.saved[1].f32() + bh * g.T * g.T : s0;
      view p{pbuf, g.T};
      if (kept && round_probs) {
        bf16_widen(c.saved[1].bf16() + bh * g.T * g.T, pbuf, g.T * g.T);
      } else if (!kept) {
        probabilities(g, Q, K, p, const_cast<float*>(lse + bh * g.T), false, round_probs);
        if (round_probs) bf16_round_in_place(pbuf, g.T * g.T);
      }
      // key block j0: only query rows i >= j0 see it; query block i0: only keys j < i0 + len
      for_blocks(g.T, [&](int64_t j0, int64_t len) {
        // dV rows j0.. += P (T - j0, len)^T dO (T - j0, HD); dP (len, j0 + len) = dO rows j0.. V^T
        block_gemm(p.at(j0, j0), p.ld, true, dO.row(j0), dO.ld, false, dV.row(j0), dV.ld, len, g.HD, g.T - j0, 1.0f, 1.0f);
        block_gemm(dO.row(j0), dO.ld, false, V.p, V.ld, true, dp.row(j0), dp.ld, len, j0 + len, g.HD, 1.0f, 0.0f);
      });
      for (int64_t i = 0; i < g.T; ++i) {
        float* dr = dp.row(i);
        const float* pr = p.row(i);
        float dot = lane_dot(pr, dr, i + 1);
        for (int64_t j = 0; j <= i; ++j) dr[j] = pr[j] * (dr[j] - dot) * g.scale;
        std::fill(dr + i + 1, dr + block_end(i, g.T), 0.0f);
      }
      for_blocks(g.T, [&](int64_t i0, int64_t len) {
        // dQ rows i0.. += dS (len, i0 + len) K; dK rows i0.. += dS (T - i0, len)^T Q rows i0..
        block_gemm(dp.row(i0), dp.ld, false, K.p, K.ld, false, dQ.row(i0), dQ.ld, len, g.HD, i0 + len, 1.0f, 1.0f);
        block_gemm(dp.at(i0, i0), dp.ld, true, Q.row(i0), Q.ld, false, dK.row(i0), dK.ld, len, g.HD, g.T - i0, 1.0f, 1.0f);
      });
    }
  }, g.B * g.NH * g.T * g.T);
}

}  // namespace wb::cpu
