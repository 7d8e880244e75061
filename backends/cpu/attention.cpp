// Fused causal grouped-query attention: softmax(Q K^T / sqrt(HD) + causal mask) V per (batch,
// head), query head h reading kv head h / (NH / KVH). Probabilities are formed as
// exp(s - lse) from the row's log-sum-exp, so rebuilding them in backward from the saved lse
// (selective recomputation, Korthikanti et al. 2022) gives bit-identical values.
// The products skip the masked upper triangle in 64-row blocks (block i reads keys [0, end of block
// i)): about half the GEMM work. Limits: a full T x T score buffer per thread, so T is meant to be
// in the low thousands at most. With attrs.probs_bf16 (mixed precision) the probabilities are
// rounded to bf16 before P V, as autocast's bf16 P V does, and kept in bf16: forward, backward and
// a recomputation all read the same values.
#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

#include "backends/cpu/bf16_convert.hpp"
#include "backends/cpu/cpu_kernels.hpp"
#include "backends/cpu/vec_math.hpp"

namespace wb::cpu {
namespace {

using mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using strided = Eigen::Map<mat, Eigen::Unaligned, Eigen::OuterStride<>>;
using cstrided = Eigen::Map<const mat, Eigen::Unaligned, Eigen::OuterStride<>>;

struct geometry {
  int64_t B, T, NH, KVH, HD;
  float scale;
  geometry(const op_call& c)
      : B(c.in[0].dim(0)), T(c.in[0].dim(1)), NH(c.in[0].dim(2)), KVH(c.in[1].dim(2)), HD(c.in[0].dim(3)),
        scale(1.0f / std::sqrt(float(HD))) {}
  // (T, HD) view of head h of batch b in a (B, T, heads, HD) buffer
  int64_t offset(int64_t b, int64_t h, int64_t heads) const { return (b * T * heads + h) * HD; }
};

constexpr int64_t causal_block = 64;  // rows a block; Eigen's register blocks divide it

// f(i0, len) over the 64-row blocks of [0, T)
template <class F>
void for_blocks(int64_t T, F f) {
  for (int64_t i0 = 0; i0 < T; i0 += causal_block) f(i0, std::min(causal_block, T - i0));
}

// P (T, T) = causal softmax(scale Q K^T); lse (T) written when `write_lse`, else read.
void probabilities(const geometry& g, const cstrided& q, const cstrided& k, Eigen::Map<mat>& p, float* lse, bool write_lse) {
  for_blocks(g.T, [&](int64_t i0, int64_t len) {  // (len, i0 + len): the rest of the rows is masked
    p.block(i0, 0, len, i0 + len).noalias() = q.middleRows(i0, len) * k.topRows(i0 + len).transpose();
  });
  for (int64_t i = 0; i < g.T; ++i) {
    float* row = p.data() + i * g.T;
    for (int64_t j = 0; j <= i; ++j) row[j] *= g.scale;
    if (write_lse) lse[i] = log_sum_exp(row, i + 1);
    float l = lse[i];
    for (int64_t j = 0; j <= i; ++j) row[j] = exp_approx(row[j] - l);
    for (int64_t j = i + 1; j < g.T; ++j) row[j] = 0;
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
    Eigen::Map<mat> p(pbuf, g.T, g.T);
    cstrided Q(q + g.offset(b, h, g.NH), g.T, g.HD, Eigen::OuterStride<>(g.NH * g.HD));
    cstrided K(k + g.offset(b, kh, g.KVH), g.T, g.HD, Eigen::OuterStride<>(g.KVH * g.HD));
    cstrided V(v + g.offset(b, kh, g.KVH), g.T, g.HD, Eigen::OuterStride<>(g.KVH * g.HD));
    strided O(out + g.offset(b, h, g.NH), g.T, g.HD, Eigen::OuterStride<>(g.NH * g.HD));
    probabilities(g, Q, K, p, lse + bh * g.T, true);
    if (round_probs && keep) {
      uint16_t* kept = c.saved[1].bf16() + bh * g.T * g.T;
      bf16_round(pbuf, kept, g.T * g.T);
      bf16_widen(kept, pbuf, g.T * g.T);
    } else if (round_probs) {
      bf16_round_in_place(pbuf, g.T * g.T);
    }
    for_blocks(g.T, [&](int64_t i0, int64_t len) {
      O.middleRows(i0, len).noalias() = p.block(i0, 0, len, i0 + len) * V.topRows(i0 + len);
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
    Eigen::Map<mat> dp(s0 + g.T * g.T, g.T, g.T);
    cstrided K(k + g.offset(b, kh, g.KVH), g.T, g.HD, Eigen::OuterStride<>(g.KVH * g.HD));
    cstrided V(v + g.offset(b, kh, g.KVH), g.T, g.HD, Eigen::OuterStride<>(g.KVH * g.HD));
    strided dK(dk + g.offset(b, kh, g.KVH), g.T, g.HD, Eigen::OuterStride<>(g.KVH * g.HD));
    strided dV(dv + g.offset(b, kh, g.KVH), g.T, g.HD, Eigen::OuterStride<>(g.KVH * g.HD));
    for (int64_t h = kh * group; h < (kh + 1) * group; ++h) {
      int64_t bh = b * g.NH + h;
      cstrided Q(q + g.offset(b, h, g.NH), g.T, g.HD, Eigen::OuterStride<>(g.NH * g.HD));
      cstrided dO(dy + g.offset(b, h, g.NH), g.T, g.HD, Eigen::OuterStride<>(g.NH * g.HD));
      strided dQ(dq + g.offset(b, h, g.NH), g.T, g.HD, Eigen::OuterStride<>(g.NH * g.HD));
      bool round_probs = c.attrs.probs_bf16;
      float* pbuf = kept && !round_probs ? c.saved[1].f32() + bh * g.T * g.T : s0;
      Eigen::Map<mat> p(pbuf, g.T, g.T);
      if (kept && round_probs) {
        bf16_widen(c.saved[1].bf16() + bh * g.T * g.T, pbuf, g.T * g.T);
      } else if (!kept) {
        probabilities(g, Q, K, p, const_cast<float*>(lse + bh * g.T), false);
        if (round_probs) bf16_round_in_place(pbuf, g.T * g.T);
      }
      // key block j0: only query rows i >= j0 see it; query block i0: only keys j < i0 + len
      for_blocks(g.T, [&](int64_t j0, int64_t len) {
        dV.middleRows(j0, len).noalias() += p.block(j0, j0, g.T - j0, len).transpose() * dO.bottomRows(g.T - j0);
        dp.block(j0, 0, len, j0 + len).noalias() = dO.middleRows(j0, len) * V.topRows(j0 + len).transpose();
      });
      for (int64_t i = 0; i < g.T; ++i) {
        float* dr = dp.data() + i * g.T;
        const float* pr = pbuf + i * g.T;
        float dot = 0;
        for (int64_t j = 0; j <= i; ++j) dot += pr[j] * dr[j];  // sequential: fixed order
        for (int64_t j = 0; j <= i; ++j) dr[j] = pr[j] * (dr[j] - dot) * g.scale;
        for (int64_t j = i + 1; j < g.T; ++j) dr[j] = 0;
      }
      for_blocks(g.T, [&](int64_t i0, int64_t len) {
        dQ.middleRows(i0, len).noalias() += dp.block(i0, 0, len, i0 + len) * K.topRows(i0 + len);
        dK.middleRows(i0, len).noalias() += dp.block(i0, i0, g.T - i0, len).transpose() * Q.bottomRows(g.T - i0);
      });
    }
  }, g.B * g.NH * g.T * g.T);
}

}  // namespace wb::cpu
