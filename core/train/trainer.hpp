// One optimizer step of training: gradient accumulation over microbatches, the NaN/Inf check,
// global grad-norm clipping, the scheduled learning rate and AdamW. Deterministic: the same model
// seed, batches and thread count give bit-identical losses.
#pragma once
#include <memory>

#include "core/model/model.hpp"
#include "core/parallel/collective.hpp"
#include "core/parallel/grad_reduce_overlap.hpp"
#include "core/parallel/zero2.hpp"
#include "core/parallel/zero3.hpp"
#include "core/train/adamw.hpp"

namespace wb {

struct step_result {
  double loss = 0;       // mean over the step's microbatches
  double grad_norm = 0;  // before clipping
  double lr = 0;
  bool skipped = false;  // non-finite loss or gradient under nan_policy "skip"
};

struct trainer_options {
  optim_config optim;
  long long total_steps = 1;
  int microbatch = 1;                     // rows (sequences) per forward/backward
  recompute_mode recompute = recompute_mode::none;
  std::string nan_policy = "stop";        // "stop" throws, "skip" drops the step
  // Data parallel: gradients and loss are averaged over these ranks after backward, before the
  // NaN check, clipping and AdamW (each rank passes its own rows). Null: one process.
  collective* data_parallel = nullptr;
  // ZeRO stage with data parallel: 0 all-reduces the gradients and every rank updates everything;
  // 1 shards AdamW's moments and update over the ranks (core/parallel/zero1.hpp); 2 shards the
  // gradients too, reduced layer by layer during backward (core/parallel/zero2.hpp); 3 the
  // parameters too, gathered layer by layer (core/parallel/zero3.hpp). 2 and 3 not with pipeline
  // parallel. Ignored without data_parallel.
  int zero = 0;
  // Pipeline parallel: this stage's group (rank i is stage i; the model holds that stage). The step's
  // microbatches then run under the 1F1B or interleaved schedule (core/parallel/pipeline_schedule.hpp)
  // and the loss and gradient norm cover every stage. Null or a group of one: no pipeline.
  collective* pipeline = nullptr;
  // Data parallel: reduce each bucket of the last microbatch's gradients on a communication thread
  // while backward continues (ZeRO-0/1: core/parallel/grad_reduce_overlap.hpp; ZeRO-2 and 3: each
  // microbatch's layer buckets, and ZeRO-3 gathers the next layer's parameters there while a layer
  // runs, core/parallel/zero3.hpp); under pipeline parallel, each chunk's last microbatch's
  // buckets. Only where nothing else uses the collective during backward
  // (overlap_grad_reduce_applies: beside tensor or pipeline parallel only with
  // data_parallel_own_channel); elsewhere ignored.
  bool overlap_grad_reduce = false;
  // data_parallel runs on a transport of its own (collective::open_channel), which tensor and
  // pipeline parallel's collectives do not use: the comm thread may reduce beside backward's
  // all-reduces and the schedule's sends.
  bool data_parallel_own_channel = false;
};

// optim, train.steps, parallel.microbatch, parallel.recompute, parallel.overlap_grad_reduce and
// train.nan_policy of a recipe.
trainer_options trainer_options_from(const recipe& r);

class trainer {
 public:
  trainer(model& m, compute_backend& backend, trainer_options o);
  // tokens, targets: i32 (rows, T) with rows a multiple of the microbatch.
  step_result step(const tensor& tokens, const tensor& targets);
  long long steps_done() const { return step_; }

  // For checkpoints: the optimizer's state, and where the schedule stands after a restore.
  const adamw& optimizer() const { return opt_; }
  int64_t num_params() const { return model_->num_params(); }
  // ZeRO-3's parameter shard and gathered buffers (null under other stages): every tape that runs
  // the model (evaluation too) needs its hooks(), and checkpoints read and write the shard.
  const zero3_parameters* zero3() const { return zero3_.get(); }
  zero3_parameters* zero3() { return zero3_.get(); }
  void restore(long long steps_done, long long adam_steps) {
    step_ = steps_done;
    opt_.restore(adam_steps);
  }

 private:
  model* model_;
  compute_backend* backend_;
  trainer_options o_;
  adamw opt_;
  // ZeRO-2's comm thread when overlapped; declared before zero2_, which posts to it.
  std::unique_ptr<comm_thread> zero_comm_;
  std::unique_ptr<zero2_gradients> zero2_;  // ZeRO-2: the gradient shard, in place of the model's arena
  std::unique_ptr<grad_reduce_overlap> overlap_;  // ZeRO-0/1 overlapped with the last backward
  std::unique_ptr<zero3_parameters> zero3_;  // ZeRO-3: the parameter shard, in place of the model's arena
  long long step_ = 0;
};

}  // namespace wb
