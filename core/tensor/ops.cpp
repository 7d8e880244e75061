// Shape checks, output allocation and recording for every op in ops.hpp.
#include "core/tensor/ops.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace wb {
namespace {

constexpr auto act = mem_category::activations;

[[noreturn]] void fail(const char* op, const std::string& why) {
  throw std::invalid_argument(fmt::format("Invalid {}: {}", op, why));
}

var run(tape& tp, op_kind op, op_attrs attrs, std::vector<var> in, tensor out, std::vector<tensor> saved = {}) {
  op_call c{op, attrs, {}, std::move(out), std::move(saved)};
  for (auto& v : in) c.in.push_back(v->data);
  return tp.run(std::move(c), std::move(in));
}

void same_shape(const char* op, const var& a, const var& b) {
  if (a->data.shape() != b->data.shape())
    fail(op, fmt::format("shapes {} and {} differ", shape_str(a->data.shape()), shape_str(b->data.shape())));
}

}  // namespace

var matmul(tape& tp, const var& a, const var& b, bool ta, bool tb) {
  const tensor &A = a->data, &B = b->data;
  if (A.rank() < 2 || B.rank() < 2) fail("matmul", "operands need rank >= 2");
  for (const tensor* t : {&A, &B})
    if (t->type() != dtype::f32 && t->type() != dtype::bf16)
      fail("matmul", fmt::format("operands must be fp32 or bf16, got {}", dtype_name(t->type())));
  int64_t M = ta ? A.dim(-1) : A.dim(-2), K = ta ? A.dim(-2) : A.dim(-1);
  int64_t KB = tb ? B.dim(-1) : B.dim(-2), N = tb ? B.dim(-2) : B.dim(-1);
  if (K != KB) fail("matmul", fmt::format("inner dims differ: {} x {}", shape_str(A.shape()), shape_str(B.shape())));
  if (B.rank() > 2 && (B.rank() != A.rank() || !std::equal(A.shape().begin(), A.shape().end() - 2, B.shape().begin())))
    fail("matmul", fmt::format("batch dims differ: {} x {}", shape_str(A.shape()), shape_str(B.shape())));
  shape_t s(A.shape().begin(), A.shape().end() - 2);
  s.push_back(M);
  s.push_back(N);
  op_attrs at;
  at.trans_a = ta;
  at.trans_b = tb;
  return run(tp, op_kind::matmul, at, {a, b}, tensor(s, act));
}

var add(tape& tp, const var& a, const var& b) {
  const shape_t &sa = a->data.shape(), &sb = b->data.shape();
  if (sb.size() > sa.size() || !std::equal(sb.rbegin(), sb.rend(), sa.rbegin()))
    fail("add", fmt::format("{} is not a suffix of {}", shape_str(sb), shape_str(sa)));
  return run(tp, op_kind::add, {}, {a, b}, tensor(sa, act));
}

var mul(tape& tp, const var& a, const var& b) {
  same_shape("mul", a, b);
  return run(tp, op_kind::mul, {}, {a, b}, tensor(a->data.shape(), act));
}

var embedding(tape& tp, const var& weight, const var& ids) {
  if (weight->data.rank() != 2) fail("embedding", "weight must be (V, C)");
  if (ids->data.type() != dtype::i32) fail("embedding", "ids must be i32");
  shape_t s = ids->data.shape();
  s.push_back(weight->data.dim(1));
  return run(tp, op_kind::embedding, {}, {weight, ids}, tensor(s, act));
}

var rmsnorm(tape& tp, const var& x, const var& w, float eps) {
  int64_t C = x->data.dim(-1);
  if (w->data.shape() != shape_t{C}) fail("rmsnorm", fmt::format("weight {} for x {}", shape_str(w->data.shape()), shape_str(x->data.shape())));
  op_attrs at;
  at.eps = eps;
  return run(tp, op_kind::rmsnorm, at, {x, w}, tensor(x->data.shape(), act), {tensor({x->data.numel() / C}, act)});
}

var layernorm(tape& tp, const var& x, const var& w, const var& b, float eps) {
  int64_t C = x->data.dim(-1);
  if (w->data.shape() != shape_t{C} || b->data.shape() != shape_t{C}) fail("layernorm", "weight and bias must be (C)");
  op_attrs at;
  at.eps = eps;
  return run(tp, op_kind::layernorm, at, {x, w, b}, tensor(x->data.shape(), act), {tensor({2, x->data.numel() / C}, act)});
}

var rope(tape& tp, const var& x, double theta) {
  if (x->data.rank() != 4 || x->data.dim(3) % 2) fail("rope", fmt::format("x must be (B, T, NH, HD) with HD even, got {}", shape_str(x->data.shape())));
  op_attrs at;
  at.rope_theta = theta;
  return run(tp, op_kind::rope, at, {x}, tensor(x->data.shape(), act));
}

var attention(tape& tp, const var& q, const var& k, const var& v, bool recompute_probs, bool probs_bf16) {
  const tensor& Q = q->data;
  if (Q.rank() != 4 || k->data.rank() != 4) fail("attention", "q, k, v must be (B, T, heads, HD)");
  same_shape("attention", k, v);
  int64_t B = Q.dim(0), T = Q.dim(1), NH = Q.dim(2), HD = Q.dim(3), KVH = k->data.dim(2);
  if (k->data.dim(0) != B || k->data.dim(1) != T || k->data.dim(3) != HD)
    fail("attention", fmt::format("q {} and k {} disagree", shape_str(Q.shape()), shape_str(k->data.shape())));
  if (KVH == 0 || NH % KVH) fail("attention", fmt::format("kv heads ({}) must divide heads ({})", KVH, NH));
  op_attrs at;
  at.recompute_probs = recompute_probs;
  at.probs_bf16 = probs_bf16;
  std::vector<tensor> saved{tensor({B, NH, T}, act)};
  if (!recompute_probs && tp.recording()) saved.push_back(tensor({B, NH, T, T}, act, probs_bf16 ? dtype::bf16 : dtype::f32));
  return run(tp, op_kind::attention, at, {q, k, v}, tensor(Q.shape(), act), std::move(saved));
}

var swiglu(tape& tp, const var& a, const var& b) {
  same_shape("swiglu", a, b);
  return run(tp, op_kind::swiglu, {}, {a, b}, tensor(a->data.shape(), act));
}

var gelu(tape& tp, const var& x) { return run(tp, op_kind::gelu, {}, {x}, tensor(x->data.shape(), act)); }

var softmax(tape& tp, const var& x) { return run(tp, op_kind::softmax, {}, {x}, tensor(x->data.shape(), act)); }

var cross_entropy(tape& tp, const var& logits, const var& targets) {
  const tensor& L = logits->data;
  if (L.rank() != 2) fail("cross_entropy", fmt::format("logits must be (N, V), got {}", shape_str(L.shape())));
  if (targets->data.type() != dtype::i32 || targets->data.numel() != L.dim(0))
    fail("cross_entropy", fmt::format("targets must be i32 ({}), got {} {}", L.dim(0), dtype_name(targets->data.type()), shape_str(targets->data.shape())));
  return run(tp, op_kind::cross_entropy, {}, {logits, targets}, tensor({1}, act), {tensor({L.dim(0)}, act)});
}

var reshape(tape& tp, const var& x, shape_t shape) {
  var out = make_var(x->data.reshape(std::move(shape)), x->requires_grad() && tp.recording());
  if (out->requires_grad())
    tp.record_custom({x}, out, [](tape_node& n) { accumulate_grad(*n.inputs[0], n.output->grad); });
  return out;
}

var to_bf16(tape& tp, const var& x, mem_category category) {
  if (x->data.type() != dtype::f32) fail("to_bf16", fmt::format("x must be fp32, got {}", dtype_name(x->data.type())));
  return run(tp, op_kind::to_bf16, {}, {x}, tensor(x->data.shape(), category, dtype::bf16));
}

var checkpoint(tape& tp, const block_fn& fn, const var& x) {
  if (!tp.recording()) return fn(tp, x);
  tape quiet(tp.backend(), false);
  var out = make_var(fn(quiet, x)->data, true);
  compute_backend* be = &tp.backend();
  tensor input = x->data;  // the one activation a checkpointed block keeps
  tp.record_custom({x}, out, [fn, be, input](tape_node& n) {
    // The same kernels on the same inputs: the recomputed block is bit-identical to the first run.
    tape again(*be, true);
    var x2 = make_var(input, n.inputs[0]->requires_grad);
    var y2 = fn(again, x2);
    again.backward(y2, n.output->grad);
    if (x2->grad().defined()) accumulate_grad(*n.inputs[0], x2->grad());
  });
  return out;
}

}  // namespace wb
