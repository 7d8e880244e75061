// One microbatch is walked op by op as the engine runs it (N = microbatch x seq_len tokens):
//   Llama layer: rmsnorm, q/k/v linears, rope on q and k, attention, output linear, residual add,
//                rmsnorm, gate and up linears, swiglu, down linear, residual add;
//   GPT layer:   layernorm, q/k/v linears with their bias adds, attention, output linear and bias,
//                residual add, layernorm, fc linear and bias, gelu, projection and bias, residual add;
//   model:       embedding (GPT: plus positions and their add), the layers, the final norm, the
//                output linear, cross-entropy.
// bf16 runs add a to_bf16 before each GEMM input and on each weight (mixed_precision.hpp); the
// kernels widen bf16 operands back to fp32, priced as one to_bf16 pass over them.
// Backward: each kernel's measured backward, each linear's two GEMMs (dX = dY W, dW = dY^T X),
// and the tape zeroing every activation gradient the first time a backward writes it (tape.cpp).
// Attention: the kernel's rates measured nearest this sequence length, head dim and key/value
// grouping (interpolated).
// Recompute: selective rebuilds the attention probabilities in its backward (measured as such);
// full reruns each layer's forward untaped, then again taped (storing the probabilities) in
// backward.
#include "core/plan/local_time.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <cmath>

#include "core/model/param_layout.hpp"
#include "core/plan/plan_flops.hpp"

namespace wb {
namespace {

constexpr double f32 = 4;

// Seconds and counts of one pass (forward or backward) of one microbatch.
struct pass_cost {
  double seconds = 0;
  double zeroed_bytes = 0;  // activation gradients the tape zeroes (backward)
  int ops = 0;              // ops and views recorded on the tape (forward)
};

class step_walker {
 public:
  step_walker(const model_config& c, const plan_layout& l, const device_profile& p)
      : c_(c), p_(p), bf16_(c.precision == "bf16"), recompute_(l.recompute), N_(double(l.microbatch) * c.seq_len), B_(l.microbatch),
        attn_(p.attention.empty() ? attention_point{c.seq_len, c.head_dim(), 1, p.attention_flops_per_s, p.attention_saving_flops_per_s,
                                                    p.attention_backward_flops_per_s, p.attention_recompute_flops_per_s}
                                  : p.attention_at(c.seq_len, c.head_dim(), c.heads / (c.kv_heads > 0 ? c.kv_heads : c.heads))) {}

  // Forward and backward of one microbatch, and the rebuild full recompute adds to backward.
  void run(pass_cost& fwd, pass_cost& bwd) {
    double C = c_.dim, V = c_.vocab;
    bool gpt = c_.family == "gpt";
    kernel(fwd, bwd, "embedding", N_ * C);
    if (gpt) {
      kernel(fwd, bwd, "embedding", double(c_.seq_len) * C);  // positions
      kernel(fwd, bwd, "add_bias", N_ * C);                   // (B, T, C) + (T, C)
      bwd.zeroed_bytes += f32 * (N_ + c_.seq_len) * C;
    }
    for (int i = 0; i < c_.layers; ++i) {
      pass_cost lf, lb;
      layer(lf, lb, recompute_ == "full" ? attention_rate_untaped() : attention_rate_forward());
      fwd.seconds += lf.seconds, fwd.ops += lf.ops;
      bwd.seconds += lb.seconds, bwd.zeroed_bytes += lb.zeroed_bytes;
      if (recompute_ == "full") {  // the taped rerun in backward, storing the probabilities
        pass_cost rf, unused;
        layer(rf, unused, attn_.forward_saving);
        bwd.seconds += rf.seconds, fwd.ops += rf.ops;
      }
    }
    kernel(fwd, bwd, gpt ? "layernorm" : "rmsnorm", N_ * C);
    gemm_input(fwd, bwd, N_ * C);
    linear(fwd, bwd, V, C);
    kernel(fwd, bwd, "cross_entropy", N_ * V);
    // The loss's logits gradient, the output layer's input gradient, the final norm's input gradient.
    bwd.zeroed_bytes += f32 * N_ * (V + 2 * C);
  }

 private:
  // Forward rate of the attention kernel: storing the probabilities unless recompute rebuilds them.
  double attention_rate_forward() const { return recompute_ == "none" ? attn_.forward_saving : attn_.forward; }
  // Full recompute's first forward runs on an untaped tape, which stores no probabilities.
  double attention_rate_untaped() const { return attn_.forward; }

  void kernel(pass_cost& f, pass_cost& b, const char* op, double elements) {
    f.seconds += p_.kernel_seconds(op, false, elements);
    b.seconds += p_.kernel_seconds(op, true, elements);
    ++f.ops;
  }
  double gemm(double m, double n, double k) const { return 2 * m * n * k / p_.gemm_flops_per_s(int(m), int(n), int(k)); }

  // Row chunks the engine cuts a GEMM into (backends/cpu/matmul.cpp, gemm_task: one chunk below
  // 64 x parallel_grain (32768, backends/cpu/cpu_kernels.hpp) multiply-adds, else up to 4 chunks of
  // at least 256 rows, a multiple of 64).
  static double gemm_chunks(double m, double n, double k) {
    double rows = m * n * k >= 64.0 * 32768 ? std::max(256.0, std::ceil(m / 256) * 64) : m;
    return std::ceil(m / rows);
  }
  // Backward's dX and dW run their chunks in one loop over the threads (run_gemms), while the
  // profile timed each shape alone on min(chunks, threads) threads: a one-chunk dX (few tokens per
  // microbatch) ran on one thread there but overlaps dW's chunks here. The loop takes the larger of
  // the work spread over the threads and its longest chunk.
  double gemms_together(std::initializer_list<std::array<double, 3>> shapes) const {
    double threads = std::max(1, p_.threads), thread_seconds = 0, longest = 0;
    for (auto& s : shapes) {
      double t = gemm(s[0], s[1], s[2]), chunks = gemm_chunks(s[0], s[1], s[2]), used = std::min(chunks, threads);
      thread_seconds += t * used;
      longest = std::max(longest, t * used / chunks);
    }
    return std::max(thread_seconds / threads, longest);
  }

  // A bf16 copy of an activation before a GEMM (the identity in fp32): its gradient passes through
  // into a zeroed fp32 buffer.
  void gemm_input(pass_cost& f, pass_cost& b, double elements) {
    if (!bf16_) return;
    kernel(f, b, "to_bf16", elements);
    b.zeroed_bytes += f32 * elements;
  }

  // x (N, in) W^T (out, in): forward one GEMM, backward dX (N, in) and dW (out, in).
  void linear(pass_cost& f, pass_cost& b, double out, double in) {
    f.seconds += gemm(N_, out, in);
    b.seconds += gemms_together({{N_, in, out}, {out, in, N_}});
    ++f.ops;
    if (bf16_) {
      kernel(f, b, "to_bf16", out * in);  // the weight's copy; its backward adds into the fp32 gradient
      // The kernel widens both bf16 operands: forward x and W, backward W (for dX) and x (for dW).
      f.seconds += p_.kernel_seconds("to_bf16", false, N_ * in + out * in);
      b.seconds += p_.kernel_seconds("to_bf16", false, N_ * in + out * in);
    }
  }

  void layer(pass_cost& f, pass_cost& b, double attention_rate) {
    double C = c_.dim, HD = c_.head_dim(), Q = c_.heads * HD, KV = double(c_.kv_heads > 0 ? c_.kv_heads : c_.heads) * HD, F = c_.ffn;
    bool gpt = c_.family == "gpt";
    const char* norm = gpt ? "layernorm" : "rmsnorm";
    auto affine = [&](double out, double in) {
      linear(f, b, out, in);
      if (gpt) kernel(f, b, "add_bias", N_ * out);
    };
    kernel(f, b, norm, N_ * C);
    gemm_input(f, b, N_ * C);
    affine(Q, C);
    affine(KV, C);
    affine(KV, C);
    f.ops += 3;  // q, k, v reshaped to heads
    if (!gpt) kernel(f, b, "rope", N_ * (Q + KV));
    if (!gpt) ++f.ops;  // rope runs once on q and once on k
    double core = attention_core_flops(c_, B_, 1, true);
    f.seconds += core / attention_rate;
    b.seconds += recompute_ == "selective" ? 3 * core / attn_.backward_rebuilding : 2 * core / attn_.backward;
    f.ops += 2;  // attention, and its output reshaped back
    gemm_input(f, b, N_ * Q);
    affine(C, Q);
    kernel(f, b, "add", N_ * C);
    kernel(f, b, norm, N_ * C);
    gemm_input(f, b, N_ * C);
    if (gpt) {
      affine(F, C);
      kernel(f, b, "gelu", N_ * F);
    } else {
      affine(F, C);
      affine(F, C);
      kernel(f, b, "swiglu", N_ * F);
    }
    gemm_input(f, b, N_ * F);
    affine(C, F);
    kernel(f, b, "add", N_ * C);
    // Activation gradients zeroed (fp32), per token: Llama: both inputs of each residual add (4C),
    // each norm output feeding the GEMMs (2C), the down projection's input and swiglu's two (3F),
    // attention's q, k, v and output (Q + 2KV + Q), rope's inputs (Q + KV). GPT: no rope, but each
    // bias add's GEMM output (Q + 2KV + C + F + C) and gelu's input in place of swiglu's second.
    double per_token = gpt ? 8 * C + 3 * F + 3 * Q + 4 * KV : 6 * C + 3 * F + 3 * Q + 3 * KV;
    b.zeroed_bytes += f32 * N_ * per_token;
  }

  const model_config& c_;
  const device_profile& p_;
  bool bf16_;
  std::string recompute_;
  double N_;
  long long B_;
  attention_point attn_;  // the attention kernel's rates at this model's sequence length and head dim
};

// A collective measured between p.collective_ranks ranks, for `ranks`: ring volume scales with
// (n-1)/n per rank (nccl-tests PERFORMANCE.md), so the same time as a message that much larger.
double collective_time(const device_profile& p, collective_op op, double bytes, int ranks) {
  if (ranks <= 1 || p.collective_ranks <= 1) return 0;
  double m = p.collective_ranks;
  return p.collective_seconds(op, bytes * ((ranks - 1.0) / ranks) / ((m - 1) / m));
}

}  // namespace

plan_time local_step_time(const model_config& c, const plan_layout& l, const device_profile& p) {
  pass_cost fwd, bwd;
  step_walker(c, l, p).run(fwd, bwd);
  double zero_fill = p.zero_fill_bandwidth > 0 ? bwd.zeroed_bytes / p.zero_fill_bandwidth : 0;
  // op_overhead_s was measured per op forward and backward together.
  double per_micro = fwd.seconds + bwd.seconds + zero_fill + fwd.ops * p.op_overhead_s;

  plan_time t;
  t.compute_s = per_micro * l.microbatches;
  // After the last backward (core/train/trainer.cpp), not overlapped: the gradients averaged
  // (all-reduce) or, with ZeRO-1, reduce-scattered and the updated parameters all-gathered, plus
  // the loss (and, with ZeRO-1, the norm's partial sums) in one small all-reduce.
  double P = double(param_count(c));
  bool zero1 = l.zero >= 1 && l.dp > 1;
  if (l.dp > 1) {
    double bytes = P * f32;
    t.dp_comm_s = zero1 ? collective_time(p, collective_op::reduce_scatter, bytes, l.dp) +
                              collective_time(p, collective_op::all_gather, bytes, l.dp)
                        : collective_time(p, collective_op::all_reduce, bytes, l.dp);
    t.dp_comm_s += collective_time(p, collective_op::all_reduce, 16, l.dp);
  }
  // Zeroing the gradients, their norm, clipping and AdamW over this rank's parameters (its ZeRO-1
  // shard: the largest, rank 0's).
  t.optimizer_s = (zero1 ? std::ceil(P / l.dp) : P) * p.optimizer_s_per_param;
  t.step_s = t.compute_s + t.dp_comm_s + t.optimizer_s;
  return t;
}

}  // namespace wb
