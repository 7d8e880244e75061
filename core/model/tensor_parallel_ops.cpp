// Tensor-parallel operators: forward here in plain loops (gather/scatter and row reductions, small
// next to the matmuls around them) with the collective calls, backward as custom tape rules.
#include "core/model/tensor_parallel_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "core/model/mixed_precision.hpp"

namespace wb {
namespace {

bool tracks(const tape& tp, const var& x) { return x->requires_grad() && tp.recording(); }

// (B, T, C) <-> this rank's block (B, T/tp, C): the shape of a block of `whole` and back.
shape_t block_shape(const shape_t& whole, int world) {
  shape_t s = whole;
  s[1] /= world;
  return s;
}
shape_t whole_shape(const shape_t& block, int world) {
  shape_t s = block;
  s[1] *= world;
  return s;
}
void check_sequence_split(const shape_t& whole, int world) {
  if (whole.size() != 3 || whole[1] % world)
    throw std::invalid_argument(fmt::format("sequence parallel: activation {} has a sequence not divisible by the "
                                            "tensor-parallel size {}; use a seq_len that is a multiple of parallel.tp",
                                            shape_str(whole), world));
}

// whole (n) summed over the group into `block` (this rank's chunk_range of n). Collective.
void reduce_scatter_into(collective& group, const tensor& whole, tensor& block) {
  tensor sum = whole.clone(mem_category::temporaries);
  size_t n = size_t(sum.numel());
  group.reduce_scatter_sum(sum.f32(), n);
  chunk c = chunk_range(n, group.world(), group.rank());
  std::copy(sum.f32() + c.begin, sum.f32() + c.begin + c.size, block.f32());
}

// block (this rank's chunk of whole) into `whole`, filled from every rank. Collective. f32, or bf16
// moved as pairs in f32 words (a gather only copies bytes): each block then must be whole words.
void all_gather_into(collective& group, const tensor& block, tensor& whole) {
  if (block.nbytes() % 4)
    throw std::invalid_argument(fmt::format("sequence parallel: a bf16 block of {} elements is not whole 4-byte words; "
                                            "use an even model.dim", block.numel()));
  size_t words = whole.nbytes() / 4;
  chunk c = chunk_range(words, group.world(), group.rank());
  float* w = static_cast<float*>(whole.raw());
  std::memcpy(w + c.begin, block.raw(), block.nbytes());
  group.all_gather(w, words);
}

tensor gathered(collective& group, const tensor& block, mem_category category) {
  tensor whole(whole_shape(block.shape(), group.world()), category, block.type());
  all_gather_into(group, block, whole);
  return whole;
}

}  // namespace

var copy_to_tensor_parallel(tape& tp, collective& group, const var& x) {
  var out = make_var(x->data, tracks(tp, x));
  if (out->requires_grad())
    tp.record_custom({x}, out, [&group](tape_node& n) {
      tensor g = n.output->grad.clone(mem_category::temporaries);
      group.all_reduce_sum(g.f32(), size_t(g.numel()));
      accumulate_grad(*n.inputs[0], g);
    });
  return out;
}

var reduce_from_tensor_parallel(tape& tp, collective& group, const var& x) {
  tensor sum = x->data.clone(mem_category::activations);
  group.all_reduce_sum(sum.f32(), size_t(sum.numel()));
  var out = make_var(sum, tracks(tp, x));
  if (out->requires_grad())
    tp.record_custom({x}, out, [](tape_node& n) { accumulate_grad(*n.inputs[0], n.output->grad); });
  return out;
}

var gather_from_sequence_parallel(tape& tp, collective& group, const var& x) {
  int world = group.world();
  check_sequence_split(whole_shape(x->data.shape(), world), world);
  var result = make_var(gathered(group, x->data, mem_category::activations), tracks(tp, x));
  if (result->requires_grad()) {
    tp.record_custom({x}, result, [&group, world](tape_node& n) {
      tensor g(block_shape(n.output->grad.shape(), world), mem_category::temporaries);
      reduce_scatter_into(group, n.output->grad, g);
      accumulate_grad(*n.inputs[0], g);
    });
    // Keep the block, not the gathered whole: gathered again when backward reaches its readers.
    tp.rebuild_in_backward(result, [&group, block = x->data] { return gathered(group, block, mem_category::temporaries); });
  }
  return result;
}

var reduce_scatter_to_sequence_parallel(tape& tp, collective& group, const var& x) {
  int world = group.world();
  check_sequence_split(x->data.shape(), world);
  tensor out(block_shape(x->data.shape(), world), mem_category::activations);
  reduce_scatter_into(group, x->data, out);
  var result = make_var(out, tracks(tp, x));
  if (result->requires_grad()) {
    tp.record_custom({x}, result, [&group](tape_node& n) { accumulate_grad(*n.inputs[0], gathered(group, n.output->grad, mem_category::temporaries)); });
  }
  return result;
}

var column_parallel_input(tape& tp, const model& m, const var& x) {
  collective* group = m.tensor_parallel();
  if (m.sequence_parallel()) return gather_from_sequence_parallel(tp, *group, gemm_input(tp, m, x));
  return gemm_input(tp, m, copy_to_tensor_parallel(tp, group, x));
}

var row_parallel_output(tape& tp, const model& m, const var& x) {
  collective* group = m.tensor_parallel();
  return m.sequence_parallel() ? reduce_scatter_to_sequence_parallel(tp, *group, x) : reduce_from_tensor_parallel(tp, group, x);
}

var vocab_parallel_embedding(tape& tp, collective& group, const var& weight, const var& ids, int64_t vocab_offset, bool scatter) {
  int64_t rows = weight->data.dim(0), C = weight->data.dim(1), n = ids->data.numel();
  shape_t shape = ids->data.shape();
  shape.push_back(C);
  tensor out = tensor::zeros(shape, mem_category::activations);
  const int32_t* id = ids->data.i32();
  const float* w = weight->data.f32();
  float* o = out.f32();
  for (int64_t i = 0; i < n; ++i) {
    int64_t local = int64_t(id[i]) - vocab_offset;
    if (local >= 0 && local < rows) std::copy(w + local * C, w + (local + 1) * C, o + i * C);
  }
  int world = group.world();
  if (scatter) {  // each rank keeps its block of the summed rows (sequence parallel)
    check_sequence_split(shape, world);
    tensor block(block_shape(shape, world), mem_category::activations);
    reduce_scatter_into(group, out, block);
    out = block;
  } else {
    group.all_reduce_sum(o, size_t(out.numel()));
  }
  var result = make_var(out, tracks(tp, weight));
  if (result->requires_grad()) {
    tensor saved_ids = ids->data;
    tp.record_custom({weight}, result, [saved_ids, vocab_offset, rows, C, scatter, shape, &group](tape_node& n) {
      grad_slot& ws = *n.inputs[0];
      if (!ws.grad.defined()) ws.grad = tensor::zeros(ws.shape, mem_category::temporaries);
      const int32_t* id = saved_ids.i32();
      tensor whole = n.output->grad;  // every token's gradient: this rank's rows read any of them
      if (scatter) whole = gathered(group, n.output->grad, mem_category::temporaries);
      const float* d = whole.f32();
      float* gw = ws.grad.f32();
      for (int64_t i = 0, k = saved_ids.numel(); i < k; ++i) {
        int64_t local = int64_t(id[i]) - vocab_offset;
        if (local < 0 || local >= rows) continue;
        for (int64_t c = 0; c < C; ++c) gw[local * C + c] += d[i * C + c];
      }
    });
  }
  return result;
}

var vocab_parallel_cross_entropy(tape& tp, collective& group, const var& logits, const var& targets, int64_t vocab_offset) {
  int64_t N = logits->data.dim(0), VL = logits->data.dim(1);
  int world = group.world(), me = group.rank();
  const float* l = logits->data.f32();
  const int32_t* t = targets->data.i32();
  // Row maxima of every rank side by side: chunk_range(N * world, world, r) is exactly [r N, (r+1) N).
  std::vector<float> maxima(size_t(N) * size_t(world), -std::numeric_limits<float>::infinity());
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < VL; ++j) maxima[size_t(me * N + i)] = std::max(maxima[size_t(me * N + i)], l[i * VL + j]);
  group.all_gather(maxima.data(), maxima.size());
  std::vector<float> row_max(size_t(N), -std::numeric_limits<float>::infinity());
  for (int r = 0; r < world; ++r)
    for (int64_t i = 0; i < N; ++i) row_max[size_t(i)] = std::max(row_max[size_t(i)], maxima[size_t(r * N + i)]);
  // [sum of exp(logit - max) over this slice | target logit if this rank holds it], summed over ranks.
  std::vector<float> sums(size_t(2 * N), 0.0f);
  for (int64_t i = 0; i < N; ++i) {
    double s = 0;
    for (int64_t j = 0; j < VL; ++j) s += std::exp(double(l[i * VL + j]) - double(row_max[size_t(i)]));
    sums[size_t(i)] = float(s);
    int64_t local = int64_t(t[i]) - vocab_offset;
    if (t[i] >= 0 && local >= 0 && local < VL) sums[size_t(N + i)] = l[i * VL + local];
  }
  group.all_reduce_sum(sums.data(), sums.size());
  tensor lse({N}, mem_category::activations);
  double total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    lse.f32()[i] = row_max[size_t(i)] + std::log(sums[size_t(i)]);
    if (t[i] < 0) continue;
    total += double(lse.f32()[i]) - double(sums[size_t(N + i)]);
    ++count;
  }
  tensor loss({1}, mem_category::activations);
  loss.f32()[0] = float(count ? total / double(count) : 0.0);
  var out = make_var(loss, tracks(tp, logits));
  if (out->requires_grad()) {
    tensor saved_logits = logits->data, saved_targets = targets->data;
    tp.record_custom({logits}, out, [saved_logits, saved_targets, lse, N, VL, count, vocab_offset](tape_node& n) {
      grad_slot& ls = *n.inputs[0];
      if (!ls.grad.defined()) ls.grad = tensor::zeros(ls.shape, mem_category::temporaries);
      float scale = n.output->grad.f32()[0] / float(std::max<int64_t>(count, 1));
      const float* l = saved_logits.f32();
      const int32_t* t = saved_targets.i32();
      float* g = ls.grad.f32();
      for (int64_t i = 0; i < N; ++i) {
        if (t[i] < 0) continue;
        float m = lse.f32()[i];
        for (int64_t j = 0; j < VL; ++j) g[i * VL + j] += std::exp(l[i * VL + j] - m) * scale;
        int64_t local = int64_t(t[i]) - vocab_offset;
        if (local >= 0 && local < VL) g[i * VL + local] -= scale;
      }
    });
  }
  return out;
}

}  // namespace wb
