// Measuring what a training step does besides its GEMMs and attention: every memory-bound kernel
// the models run (forward and backward, per element), the tape's zeroing of gradient buffers and
// its bookkeeping per op, and the optimizer pass. Each kernel runs on tensors of the size a small
// model's step uses (kernel_tokens x kernel_channels = 1M elements, 4 MiB per fp32 tensor; the
// logits 2048 x 8192), so the per-element rate includes the thread team's fork and join at that
// size, and on tensors out of the caches, as a step finds them. Timed as the rest of the profile:
// the fastest of repeated runs (fastest_run.hpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/model/model.hpp"
#include "core/model/tensor_parallel_ops.hpp"
#include "core/plan/device_profile.hpp"
#include "core/plan/fastest_run.hpp"
#include "core/tensor/backend.hpp"
#include "core/tensor/ops.hpp"
#include "core/train/adamw.hpp"
#include "core/train/grad_norm.hpp"

namespace wb {
namespace {

// bench/train_step's "small" model at microbatch 4, sequence 512: 2048 tokens of 512 channels.
constexpr int64_t kernel_tokens = 2048, kernel_channels = 512, kernel_heads = 8, kernel_vocab = 8192;
constexpr auto tmp = mem_category::temporaries;

tensor filled(shape_t s, float v, dtype t = dtype::f32) {
  tensor x(std::move(s), tmp, t);
  if (t == dtype::i32)
    for (int64_t i = 0; i < x.numel(); ++i) x.i32()[i] = int32_t(i % kernel_vocab);
  else
    x.fill(v);
  return x;
}

// Bytes a kernel's copies span, so that each run reads and writes memory the previous runs have
// pushed out of the caches (64 MiB: twice this machine's last-level cache, and a training step's
// tensors are many times that): in a step, a kernel reads activations written long before.
constexpr double cold_span_bytes = 64.0 * (1 << 20);

double call_bytes(const op_call& c) {
  double b = double(c.out.nbytes());
  for (auto& t : c.in) b += double(t.nbytes());
  for (auto& t : c.saved) b += double(t.nbytes());
  return b;
}

tensor like(const tensor& t, float v) { return filled(t.shape(), v, t.type()); }


// Forward and backward seconds per element of `c` (`elements` per call), each run on the next
// of enough copies of its tensors to leave the caches (cold_span_bytes).
kernel_rate time_kernel(compute_backend& be, const op_call& c, double elements) {
  int copies = std::max(1, int(std::ceil(cold_span_bytes / call_bytes(c))));
  std::vector<op_call> calls;
  std::vector<tensor> douts;
  std::vector<std::vector<tensor>> dins;
  for (int i = 0; i < copies; ++i) {
    op_call k{c.op, c.attrs, {}, tensor(c.out.shape(), tmp, c.out.type()), {}};
    for (auto& t : c.in) k.in.push_back(like(t, 0.5f));
    for (auto& t : c.saved) k.saved.push_back(tensor(t.shape(), tmp, t.type()));
    calls.push_back(std::move(k));
    douts.push_back(filled(c.out.shape(), 1e-3f));
    std::vector<tensor> din;
    for (auto& t : c.in) din.push_back(t.type() == dtype::i32 ? tensor() : tensor::zeros(t.shape(), tmp));
    dins.push_back(std::move(din));
  }
  kernel_rate r;
  r.forward_s = fastest_rotating(copies, [&](int i) { be.forward(calls[size_t(i)]); }) / elements;
  r.backward_s = fastest_rotating(copies, [&](int i) { be.backward(calls[size_t(i)], douts[size_t(i)], dins[size_t(i)]); }) / elements;
  return r;
}

}  // namespace

void device_profile_measure_kernels(compute_backend& be, device_profile& p) {
  const int64_t N = kernel_tokens, C = kernel_channels, NH = kernel_heads, HD = C / NH, V = kernel_vocab;
  const double n = double(N * C);
  auto call = [](op_kind op, std::vector<tensor> in, tensor out, std::vector<tensor> saved = {}) {
    return op_call{op, {}, std::move(in), std::move(out), std::move(saved)};
  };
  p.kernels["add"] = time_kernel(be, call(op_kind::add, {filled({N, C}, 1), filled({N, C}, 2)}, tensor({N, C}, tmp)), n);
  // A bias (C) broadcast over the rows, as GPT's linear layers add it: backward sums over rows.
  p.kernels["add_bias"] = time_kernel(be, call(op_kind::add, {filled({N, C}, 1), filled({C}, 2)}, tensor({N, C}, tmp)), n);
  p.kernels["rmsnorm"] = time_kernel(be, call(op_kind::rmsnorm, {filled({N, C}, 0.5f), filled({C}, 1)}, tensor({N, C}, tmp), {tensor({N}, tmp)}), n);
  p.kernels["layernorm"] = time_kernel(be, call(op_kind::layernorm, {filled({N, C}, 0.5f), filled({C}, 1), filled({C}, 0)}, tensor({N, C}, tmp),
                                                {tensor({2, N}, tmp)}), n);
  // RoPE builds its cos/sin tables per call (T x HD/2): sequences of 512, as the small model's.
  op_call rope = call(op_kind::rope, {filled({N / 512, 512, NH, HD}, 0.5f)}, tensor({N / 512, 512, NH, HD}, tmp));
  rope.attrs.rope_theta = 10000;
  p.kernels["rope"] = time_kernel(be, rope, n);
  p.kernels["swiglu"] = time_kernel(be, call(op_kind::swiglu, {filled({N, C}, 0.5f), filled({N, C}, 0.25f)}, tensor({N, C}, tmp)), n);
  p.kernels["gelu"] = time_kernel(be, call(op_kind::gelu, {filled({N, C}, 0.5f)}, tensor({N, C}, tmp)), n);
  p.kernels["to_bf16"] = time_kernel(be, call(op_kind::to_bf16, {filled({N, C}, 0.5f)}, tensor({N, C}, tmp, dtype::bf16)), n);
  p.kernels["embedding"] = time_kernel(be, call(op_kind::embedding, {filled({V, C}, 0.01f), filled({N}, 0, dtype::i32)}, tensor({N, C}, tmp)), n);
  p.kernels["cross_entropy"] = time_kernel(be, call(op_kind::cross_entropy, {filled({N, V}, 0.01f), filled({N}, 0, dtype::i32)}, tensor({1}, tmp),
                                                    {tensor({N}, tmp)}), double(N * V));
  // Tensor parallel's loss over a vocabulary slice (plain loops in tensor_parallel_ops.cpp, not the
  // backend's kernel), per element of the slice's logits: half the vocabulary, as tp = 2 holds.
  {
    single_rank_collective group;  // its collectives leave the data as is: the operator's own loops alone
    var logits = make_var(filled({N, V / 2}, 0.01f), true), targets = make_var(filled({N}, 0, dtype::i32));
    double forward = fastest([&] {
      tape tp(be);
      vocab_parallel_cross_entropy(tp, group, logits, targets, 0);
    });
    double both = fastest([&] {
      tape tp(be);
      tp.backward(vocab_parallel_cross_entropy(tp, group, logits, targets, 0));
      logits->grad() = tensor();  // each run allocates and zeroes it again, as a step does
    });
    p.kernels["vocab_parallel_cross_entropy"] = {forward / double(N * V / 2), std::max(0.0, both - forward) / double(N * V / 2)};
  }

  // The tape zeroes each activation gradient when backward first needs it (tape.cpp): one thread,
  // memset, into a buffer the cache hands back, freed long enough ago to have left the caches (a
  // step's tensors are many times the last-level cache). Bytes per second over 16 gradients of
  // 4 MiB in turn, 64 MiB: more than this machine's caches.
  {
    std::vector<tensor> grads;
    for (int i = 0; i < 16; ++i) grads.push_back(tensor({N, C}, tmp));
    p.zero_fill_bandwidth = double(N * C * 4) / fastest_rotating(16, [&](int i) { grads[size_t(i)].zero(); });
  }

  // Per op beyond its kernel: recording, output allocation, the gradient slot, dispatch. 64 adds of
  // 16 elements forward and backward on a tape.
  {
    var a = make_var(filled({16}, 1), true), b = make_var(filled({16}, 2));
    constexpr int ops = 64;
    double s = fastest([&] {
      tape tp(be);
      var x = a;
      for (int i = 0; i < ops; ++i) x = add(tp, x, b);
      tp.backward(x, tensor::zeros({16}, tmp));
    });
    p.op_overhead_s = s / ops;
  }

  // The optimizer step after backward (core/train/trainer.cpp): zero the gradients, their norm,
  // clipping (assumed to happen: early in training it does), AdamW, over a model of 10.5M
  // parameters (2 layers of the small model's width).
  {
    model_config c;
    c.family = "llama", c.layers = 2, c.dim = int(C), c.heads = int(NH), c.kv_heads = int(NH), c.ffn = 1376, c.vocab = int(V), c.seq_len = 64;
    c.precision = "fp32", c.tied_embeddings = true;
    model m(c, 1);
    optim_config o;
    adamw opt(m, o);
    m.grad_arena().fill(1e-3f);
    int th = be.threads();
    double s = fastest([&] {
      m.zero_grad();
      grad_stats g = grad_norm(m.grad_arena(), th);
      clip_grad_norm(m.grad_arena(), g.norm + 1, 1e-9, th);
      opt.step(1e-4, th);
    });
    p.optimizer_s_per_param = s / double(m.num_params());
  }
}

}  // namespace wb
