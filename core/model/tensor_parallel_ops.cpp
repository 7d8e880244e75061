// Tensor-parallel operators: forward here in plain loops (gather/scatter and row reductions, small
// next to the matmuls around them) with the collective calls, backward as custom tape rules.
#include "core/model/tensor_parallel_ops.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace wb {
namespace {

bool tracks(const tape& tp, const var& x) { return x->requires_grad() && tp.recording(); }

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

var vocab_parallel_embedding(tape& tp, collective& group, const var& weight, const var& ids, int64_t vocab_offset) {
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
  group.all_reduce_sum(o, size_t(out.numel()));
  var result = make_var(out, tracks(tp, weight));
  if (result->requires_grad()) {
    tensor saved_ids = ids->data;
    tp.record_custom({weight}, result, [saved_ids, vocab_offset, rows, C](tape_node& n) {
      grad_slot& ws = *n.inputs[0];
      if (!ws.grad.defined()) ws.grad = tensor::zeros(ws.shape, mem_category::temporaries);
      const int32_t* id = saved_ids.i32();
      const float* d = n.output->grad.f32();
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
