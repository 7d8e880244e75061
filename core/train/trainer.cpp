// The training step. Each microbatch's loss is backpropagated with seed 1/k (k microbatches), so
// the accumulated gradient is that of the mean loss over the whole step.
#include "core/train/trainer.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "core/parallel/data_parallel.hpp"
#include "core/parallel/sequence_parallel_grads.hpp"
#include "core/parallel/tensor_parallel_norm.hpp"
#include "core/parallel/zero1.hpp"
#include "core/train/grad_norm.hpp"
#include "core/train/lr_schedule.hpp"
#include "core/train/pipeline_step.hpp"

namespace wb {

trainer_options trainer_options_from(const recipe& r) {
  trainer_options o;
  o.optim = r.optim;
  o.total_steps = r.train.steps;
  o.microbatch = r.parallel.microbatch;
  o.recompute = recompute_from_string(r.parallel.recompute);
  o.nan_policy = r.train.nan_policy.empty() ? "stop" : r.train.nan_policy;
  o.overlap_grad_reduce = r.parallel.overlap_grad_reduce;
  return o;
}

namespace {

// ZeRO applies only across data-parallel ranks; one process ignores the stage. True for stages 1 to
// 3, which shard the optimizer alike.
bool zero1_on(const trainer_options& o) {
  if (!o.data_parallel || o.data_parallel->world() == 1) return false;
  if (o.zero > 3 || o.zero < 0)
    throw std::invalid_argument(fmt::format("ZeRO stage {} does not exist (stages 0 to 3 do)", o.zero));
  return o.zero >= 1;
}

bool overlap_on(const model& m, const trainer_options& o) {
  return o.overlap_grad_reduce && overlap_grad_reduce_applies(m, o.data_parallel, o.pipeline, o.data_parallel_own_channel);
}

// ZeRO-2's reductions and ZeRO-3's prefetched gathers share one comm thread, so every rank posts
// them to the data-parallel group in the same order.
std::unique_ptr<comm_thread> zero_comm_for(const model& m, const trainer_options& o) {
  return zero1_on(o) && o.zero >= 2 && overlap_on(m, o) ? std::make_unique<comm_thread>() : nullptr;
}

// Stage 3 shards the gradients as stage 2 does.
std::unique_ptr<zero2_gradients> zero2_for(model& m, const trainer_options& o, comm_thread* overlap) {
  if (!zero1_on(o) || o.zero < 2) return nullptr;
  if (o.pipeline && o.pipeline->world() > 1)
    throw std::invalid_argument(fmt::format("ZeRO stage {} with pipeline parallel is not implemented; use parallel.zero = 1",
                                            o.zero));
  return std::make_unique<zero2_gradients>(m, *o.data_parallel, overlap);
}

std::unique_ptr<grad_reduce_overlap> overlap_for(model& m, const trainer_options& o) {
  if (!overlap_on(m, o) || (zero1_on(o) && o.zero >= 2)) return nullptr;
  return std::make_unique<grad_reduce_overlap>(m, *o.data_parallel, zero1_on(o) ? 1 : 0);
}

// The arena elements this rank's AdamW owns: all of them, or its ZeRO shard.
chunk optimizer_shard(const model& m, const trainer_options& o) {
  return zero1_on(o) ? zero1_shard(*o.data_parallel, m.num_params()) : chunk{0, size_t(m.num_params())};
}

// What a ZeRO rank's shard norm leaves out because another rank counts it: a pipeline's tied copy
// (stage 0 counts the embedding) and, under tensor parallel, the replicated parameters (tp rank 0).
std::vector<chunk> zero_uncounted_ranges(const model& m, bool pipelined) {
  std::vector<chunk> out = tensor_parallel_uncounted_ranges(m);
  if (pipelined)
    for (const chunk& c : tied_copy_ranges(m)) out.push_back(c);
  return out;
}

}  // namespace

trainer::trainer(model& m, compute_backend& backend, trainer_options o)
    : model_(&m), backend_(&backend), o_(std::move(o)), opt_(m, o_.optim, optimizer_shard(m, o_)),
      zero_comm_(zero_comm_for(m, o_)), zero2_(zero2_for(m, o_, zero_comm_.get())), overlap_(overlap_for(m, o_)) {
  if (zero2_ && o_.zero == 3)
    zero3_ = std::make_unique<zero3_parameters>(m, *o_.data_parallel, zero2_->hooks(), zero_comm_.get());
}

step_result trainer::step(const tensor& tokens, const tensor& targets) {
  int64_t rows = tokens.dim(0);
  if (rows % o_.microbatch)
    throw std::invalid_argument(fmt::format("Invalid batch: {} rows is not a multiple of microbatch ({})", rows, o_.microbatch));
  int64_t k = rows / o_.microbatch;
  step_result r;
  r.lr = lr_at(o_.optim, step_, o_.total_steps);
  if (zero2_) zero2_->zero();
  else model_->zero_grad();
  double loss_sum = 0;
  const bool pipelined = o_.pipeline && o_.pipeline->world() > 1;
  try {
    if (pipelined) {
      // Overlapped ZeRO-0/1 reduces each chunk's last microbatch's buckets, the embedding's once the
      // tied embedding's copies hold their sum.
      loss_sum = pipeline_forward_backward(*model_, *backend_, *o_.pipeline, tokens, targets, o_.microbatch, o_.recompute,
                                           float(1.0 / double(k)), overlap_ ? &overlap_->hooks() : nullptr);
      pipeline_sum_tied_gradients(*model_, *o_.pipeline);
      if (overlap_) overlap_->end_backward();
    } else {
      for (int64_t i = 0; i < k; ++i) {
        // Overlapped ZeRO-0/1 reduces only the last microbatch's buckets; earlier ones accumulate.
        grad_reduce_overlap* overlap = i == k - 1 ? overlap_.get() : nullptr;
        tape tp(*backend_);
        if (zero2_) tp.set_layer_hooks(zero3_ ? &zero3_->hooks() : &zero2_->hooks());
        if (overlap) tp.set_layer_hooks(&overlap->hooks());
        int64_t b = i * o_.microbatch, e = b + o_.microbatch;
        var l = model_->loss(tp, tokens.slice(b, e), targets.slice(b, e), o_.recompute);
        loss_sum += l->data.f32()[0];
        if (zero2_) zero2_->begin_backward();
        tp.backward(l, float(1.0 / double(k)));
        if (zero2_) zero2_->end_backward();
        if (overlap) overlap->end_backward();
      }
    }
  } catch (...) {  // this thread's error is the one to report; the comm thread stops first
    if (overlap_) overlap_->abandon();
    if (zero_comm_) zero_comm_->abandon();
    if (zero3_) zero3_->abandon_gathers();
    throw;
  }
  r.loss = loss_sum / double(k);
  // ZeRO-2 and the overlap sum each bucket as it closes.
  if (!zero2_ && !overlap_) sequence_parallel_sum_grads(*model_);
  const bool zero1 = zero1_on(o_);
  grad_stats g;
  if (zero1) {  // the hook: this rank's shard of the averaged gradient, the global norm
    zero1_gradients z = zero2_   ? zero2_->finish(r.loss, backend_->threads(), zero_uncounted_ranges(*model_, pipelined))
                        : overlap_ ? overlap_->finish_reduce_scatter(r.loss, backend_->threads(),
                                                                     zero_uncounted_ranges(*model_, pipelined))
                                   : zero1_reduce_gradients(*o_.data_parallel, model_->grad_arena(), r.loss,
                                                        backend_->threads(), zero_uncounted_ranges(*model_, pipelined));
    r.loss = z.loss, g = tensor_parallel_sum_norms(*model_, z.stats);
    if (pipelined) g = pipeline_sum_norms(*o_.pipeline, g);
  } else {
    if (overlap_) r.loss = overlap_->finish_all_reduce(r.loss);
    else if (o_.data_parallel) r.loss = average_gradients(*o_.data_parallel, model_->grad_arena(), r.loss);
    grad_stats local = grad_norm(model_->grad_arena(), backend_->threads());
    g = pipelined ? pipeline_grad_norm(*model_, *o_.pipeline, local) : tensor_parallel_grad_norm(*model_, local);
  }
  r.grad_norm = g.norm;
  if (!g.finite || !std::isfinite(r.loss)) {
    if (o_.nan_policy != "skip")
      throw std::runtime_error(fmt::format("step {}: non-finite {} (loss {}, grad norm {}); hint: lower optim.lr, or set "
                                           "train.nan_policy = \"skip\"", step_, std::isfinite(r.loss) ? "gradient" : "loss",
                                           r.loss, g.norm));
    r.skipped = true;
    ++step_;
    return r;
  }
  chunk s = opt_.shard();
  if (s.size > 0) {
    const tensor& grads = model_->grad_arena();
    tensor shard = zero2_ ? zero2_->shard_gradients()
                          : grads.reshape({grads.numel()}).slice(int64_t(s.begin), int64_t(s.begin + s.size));
    clip_grad_norm(shard, g.norm, o_.optim.clip, backend_->threads());
  }
  opt_.step(r.lr, backend_->threads(), zero2_ ? &zero2_->shard_gradients() : nullptr,
            zero3_ ? &zero3_->shard_parameters() : nullptr);
  if (zero3_) zero3_->gather_outer();  // the layers are gathered when they run
  else if (zero1) zero1_gather_parameters(*o_.data_parallel, model_->param_arena());
  ++step_;
  return r;
}

}  // namespace wb
