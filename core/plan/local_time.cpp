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
// A shard (one rank of a tensor-parallel group, one pipeline chunk) walks only its chunk's layers
// and ends, at its widths: NH/tp query and KVH/tp key/value heads, F/tp ffn units, V/tp of the
// vocabulary, and under sequence parallel N/tp tokens for the norms and residual adds; the
// collectives of tensor_parallel_ops.hpp are listed, not priced (local_parallel_time.cpp does).
#include "core/plan/local_time.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <numeric>
#include <vector>

#include "core/model/param_layout.hpp"
#include "core/plan/plan_flops.hpp"
#include "core/plan/zero_buckets.hpp"

namespace wb {
namespace {

constexpr double f32 = 4;

// Seconds and counts of one pass (forward or backward) of one microbatch.
struct pass_cost {
  double seconds = 0;
  double zeroed_bytes = 0;  // activation gradients the tape zeroes (backward)
  int ops = 0;              // ops and views recorded on the tape (forward)
  std::vector<tp_collective> collectives;  // tensor parallel, in the order the pass runs them
};

void append(std::vector<tp_collective>& to, const std::vector<tp_collective>& from) { to.insert(to.end(), from.begin(), from.end()); }

class step_walker {
 public:
  step_walker(const model_config& c, const plan_layout& l, const device_profile& p, const local_shard& s)
      : c_(c), p_(p), bf16_(c.precision == "bf16"), recompute_(l.recompute), N_(double(l.microbatch) * c.seq_len), B_(l.microbatch),
        span_(s.span), tp_(std::max(1, s.tp)), sp_(s.sequence_parallel && s.tp > 1), rows_(sp_ ? N_ / tp_ : N_),
        attn_(p.attention.empty() ? attention_point{c.seq_len, c.head_dim(), 1, p.attention_flops_per_s, p.attention_saving_flops_per_s,
                                                    p.attention_backward_flops_per_s, p.attention_recompute_flops_per_s}
                                  : p.attention_at(c.seq_len, c.head_dim(), c.heads / (c.kv_heads > 0 ? c.kv_heads : c.heads))) {}

  // Forward and backward of one microbatch's share, and the rebuild full recompute adds to backward.
  void run(pass_cost& fwd, pass_cost& bwd) {
    double C = c_.dim, V = double(c_.vocab) / tp_;
    bool gpt = c_.family == "gpt";
    if (span_.embed) {
      kernel(fwd, bwd, "embedding", N_ * C);
      // vocab_parallel_embedding: the partial rows summed over the group (a reduce-scatter of the
      // blocks under sequence parallel, whose gradient is gathered back).
      if (sp_) collective(fwd, collective_op::reduce_scatter, N_ * C), collective(bwd, collective_op::all_gather, N_ * C);
      else collective(fwd, collective_op::all_reduce, N_ * C);
      if (gpt) {
        kernel(fwd, bwd, "embedding", double(c_.seq_len) * C / (sp_ ? tp_ : 1));  // positions
        kernel(fwd, bwd, "add_bias", rows_ * C);                                 // (B, T, C) + (T, C)
        bwd.zeroed_bytes += f32 * (rows_ + double(c_.seq_len) / (sp_ ? tp_ : 1)) * C;
      }
    }
    for (int i = span_.first; i < span_.last; ++i) {
      pass_cost lf, lb;
      layer(lf, lb, recompute_ == "full" ? attention_rate_untaped() : attention_rate_forward());
      fwd.seconds += lf.seconds, fwd.ops += lf.ops;
      append(fwd.collectives, lf.collectives);
      if (recompute_ == "full") {  // the taped rerun in backward, storing the probabilities
        pass_cost rf, unused;
        layer(rf, unused, attn_.forward_saving);
        bwd.seconds += rf.seconds, fwd.ops += rf.ops;
        append(bwd.collectives, rf.collectives);
      }
      bwd.seconds += lb.seconds, bwd.zeroed_bytes += lb.zeroed_bytes;
      append(bwd.collectives, lb.collectives);
    }
    if (!span_.head) return;
    kernel(fwd, bwd, gpt ? "layernorm" : "rmsnorm", rows_ * C);
    // f before the column-parallel output layer (the gather of the blocks under sequence parallel).
    enter(fwd, bwd, N_ * C);
    gemm_input(fwd, bwd, N_ * C);
    linear(fwd, bwd, V, C);
    // Under tensor parallel the loss is vocab_parallel_cross_entropy's own loops, measured as such
    // (a profile from before that measurement prices them as the backend's kernel).
    bool own_loops = tp_ > 1 && p_.kernels.count("vocab_parallel_cross_entropy");
    kernel(fwd, bwd, own_loops ? "vocab_parallel_cross_entropy" : "cross_entropy", N_ * V);
    if (tp_ > 1) {  // vocab_parallel_cross_entropy: every rank's row maxima gathered, then the sums
      collective(fwd, collective_op::all_gather, N_ * tp_);
      collective(fwd, collective_op::all_reduce, 2 * N_);
    }
    // The loss's logits gradient, the output layer's input gradient, the final norm's input gradient.
    bwd.zeroed_bytes += f32 * (N_ * (V + C) + rows_ * C);
  }

 private:
  // Forward rate of the attention kernel: storing the probabilities unless recompute rebuilds them.
  double attention_rate_forward() const { return recompute_ == "none" ? attn_.forward_saving : attn_.forward; }
  // Full recompute's first forward runs on an untaped tape, which stores no probabilities.
  double attention_rate_untaped() const { return attn_.forward; }

  // A tensor-parallel collective on `elements` fp32 values (nothing without tensor parallel).
  void collective(pass_cost& pass, collective_op op, double elements) {
    if (tp_ > 1) pass.collectives.push_back({op, f32 * elements});
  }
  // A block's entry into a tensor-parallel region and its exit (tensor_parallel_ops.hpp, f and g):
  // entry gathers the token blocks forward (sequence parallel) and sums the input gradient
  // backward; exit sums the partial outputs forward and gathers the gradient backward (sequence
  // parallel). `elements`: the whole (N, C) activation.
  void enter(pass_cost& f, pass_cost& b, double elements) {
    if (sp_) collective(f, collective_op::all_gather, elements), collective(b, collective_op::reduce_scatter, elements);
    else collective(b, collective_op::all_reduce, elements);
  }
  void leave(pass_cost& f, pass_cost& b, double elements) {
    if (sp_) collective(f, collective_op::reduce_scatter, elements), collective(b, collective_op::all_gather, elements);
    else collective(f, collective_op::all_reduce, elements);
  }

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
    double C = c_.dim, HD = c_.head_dim(), Q = double(c_.heads / tp_) * HD,
           KV = double((c_.kv_heads > 0 ? c_.kv_heads : c_.heads) / tp_) * HD, F = double(c_.ffn) / tp_, R = rows_;
    bool gpt = c_.family == "gpt";
    const char* norm = gpt ? "layernorm" : "rmsnorm";
    auto affine = [&](double out, double in) {
      linear(f, b, out, in);
      if (gpt) kernel(f, b, "add_bias", N_ * out);
    };
    kernel(f, b, norm, R * C);
    enter(f, b, N_ * C);
    gemm_input(f, b, N_ * C);
    affine(Q, C);
    affine(KV, C);
    affine(KV, C);
    f.ops += 3;  // q, k, v reshaped to heads
    if (!gpt) kernel(f, b, "rope", N_ * (Q + KV));
    if (!gpt) ++f.ops;  // rope runs once on q and once on k
    double core = attention_core_flops(c_, B_, tp_, true);
    f.seconds += core / attention_rate;
    b.seconds += recompute_ == "selective" ? 3 * core / attn_.backward_rebuilding : 2 * core / attn_.backward;
    f.ops += 2;  // attention, and its output reshaped back
    gemm_input(f, b, N_ * Q);
    affine(C, Q);
    leave(f, b, N_ * C);
    kernel(f, b, "add", R * C);
    kernel(f, b, norm, R * C);
    enter(f, b, N_ * C);
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
    leave(f, b, N_ * C);
    kernel(f, b, "add", R * C);
    // Activation gradients zeroed (fp32), per token: Llama: both inputs of each residual add (4C),
    // each norm output feeding the GEMMs (2C), the down projection's input and swiglu's two (3F),
    // attention's q, k, v and output (Q + 2KV + Q), rope's inputs (Q + KV). GPT: no rope, but each
    // bias add's GEMM output (Q + 2KV + C + F + C) and gelu's input in place of swiglu's second.
    // Under sequence parallel the residual adds' inputs are blocks of R = N/tp tokens.
    double per_token = gpt ? 4 * C + 3 * F + 3 * Q + 4 * KV : 2 * C + 3 * F + 3 * Q + 3 * KV;
    b.zeroed_bytes += f32 * (N_ * per_token + R * 4 * C);
  }

  const model_config& c_;
  const device_profile& p_;
  bool bf16_;
  std::string recompute_;
  double N_;
  long long B_;
  layer_span span_;
  int tp_;
  bool sp_;
  double rows_;           // tokens of the residual stream on this rank: N, or N/tp under sequence parallel
  attention_point attn_;  // the attention kernel's rates at this model's sequence length and head dim
};

double collective_time(const device_profile& p, collective_op op, double bytes, int ranks) {
  return local_collective_seconds(p, op, bytes, ranks);
}

}  // namespace

// A collective measured between p.collective_ranks ranks, for `ranks`: ring volume scales with
// (n-1)/n per rank (nccl-tests PERFORMANCE.md), so the same time as a message that much larger.
double local_collective_seconds(const device_profile& p, collective_op op, double bytes, int ranks) {
  if (ranks <= 1 || p.collective_ranks <= 1) return 0;
  double m = p.collective_ranks;
  return p.collective_seconds(op, bytes * ((ranks - 1.0) / ranks) / ((m - 1) / m));
}

microbatch_time local_microbatch_time(const model_config& c, const plan_layout& l, const device_profile& p, const local_shard& s) {
  pass_cost fwd, bwd;
  step_walker(c, l, p, s).run(fwd, bwd);
  microbatch_time t;
  // op_overhead_s was measured per op forward and backward together: half to each pass.
  t.forward_s = fwd.seconds + 0.5 * fwd.ops * p.op_overhead_s;
  t.backward_s = bwd.seconds + 0.5 * fwd.ops * p.op_overhead_s + (p.zero_fill_bandwidth > 0 ? bwd.zeroed_bytes / p.zero_fill_bandwidth : 0);
  t.forward_collectives = std::move(fwd.collectives);
  t.backward_collectives = std::move(bwd.collectives);
  return t;
}

double local_dp_exchange_seconds(const model_config& c, const plan_layout& l, double P,
                                 const std::function<double(collective_op, double)>& seconds) {
  if (l.dp <= 1) return 0;
  if (l.zero <= 0) return seconds(collective_op::all_reduce, f32 * P);
  if (l.zero == 1) return seconds(collective_op::reduce_scatter, f32 * P) + seconds(collective_op::all_gather, f32 * P);
  // Stages 2 and 3 move buckets: each layer's parameters (tp rank 0's shard) and the outer ones.
  std::vector<size_t> all(param_layout(c).size());
  std::iota(all.begin(), all.end(), size_t(0));
  const bucket_elements b = bucket_elements_of(c, std::max(1, l.tp), 0, all);
  double per_microbatch = seconds(collective_op::reduce_scatter, f32 * b.outer);
  for (double n : b.layer) {
    per_microbatch += seconds(collective_op::reduce_scatter, f32 * n);
    if (l.zero >= 3) per_microbatch += 2 * seconds(collective_op::all_gather, f32 * n);
  }
  double after = seconds(collective_op::all_gather, f32 * (l.zero >= 3 ? b.outer : P));
  return l.microbatches * per_microbatch + after;
}

plan_time local_step_time(const model_config& c, const plan_layout& l, const device_profile& p) {
  microbatch_time mb = local_microbatch_time(c, l, p, {{0, c.layers, true, true}, 1, false});
  double per_micro = mb.forward_s + mb.backward_s;

  plan_time t;
  t.compute_s = per_micro * l.microbatches;
  // The data-parallel exchange by ZeRO stage (local_dp_exchange_seconds), plus the loss (and, with
  // ZeRO, the norm's partial sums) in one small all-reduce.
  double P = double(param_count(c));
  bool zero1 = l.zero >= 1 && l.dp > 1;
  if (l.dp > 1) {
    t.dp_comm_s = local_dp_exchange_seconds(c, l, P, [&](collective_op op, double bytes) { return collective_time(p, op, bytes, l.dp); });
    t.dp_comm_s += collective_time(p, collective_op::all_reduce, 16, l.dp);
  }
  // Zeroing the gradients, their norm, clipping and AdamW over this rank's parameters (its ZeRO-1
  // shard: the largest, rank 0's).
  t.optimizer_s = (zero1 ? std::ceil(P / l.dp) : P) * p.optimizer_s_per_param;
  t.step_s = t.compute_s + t.dp_comm_s + t.optimizer_s;
  return t;
}

}  // namespace wb
