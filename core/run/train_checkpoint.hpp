// The training state as a checkpoint: parameters, AdamW moments and update count, the step and the
// schedule's length, and the data loader's position (core/ckpt/checkpoint.hpp is the file layer).
// A snapshot copies the state in memory so a background thread can write it while training goes
// on; restoring checks every tensor's name and shape against the model before copying anything.
#pragma once
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/ckpt/checkpoint.hpp"
#include "core/data/data_loader.hpp"
#include "core/model/model.hpp"
#include "core/train/trainer.hpp"

namespace wb {

// The model a checkpoint's tensors belong to (stored in its state: a rehearsal's model is not the
// recipe's), and the tokenizer file it was trained with.
nlohmann::json model_config_to_json(const model_config& c);
model_config model_config_from_json(const nlohmann::json& j);

struct checkpoint_meta {
  std::string recipe_hash, tokenizer_fingerprint, tokenizer_path;
  model_config model;
  nlohmann::json recipe, layout;
  long long total_steps = 0;
};

struct train_snapshot {
  ckpt_contents contents;     // tensors point into storage (and peer_storage)
  std::vector<float> storage;
  // Tensor and pipeline parallel: the other model-parallel ranks' [params | m | v] arenas, received
  // by the writing rank and written as their slices (add_snapshot_slices).
  std::vector<std::vector<float>> peer_storage;
};

// Appends the slices of one model-parallel rank's arenas (base: its [params | m | v], laid out as
// that rank's model lays them out: the parameters of pipeline stage `stage` in param_layout order,
// tensor_parallel_shard shapes for tp rank tp_rank of tp) to s.contents, in file
// stage.stage * tp + tp_rank, each with its global shape and offset. Replicated parameters only
// from tp rank 0; a tied embedding's copy on the last stage not at all (stage 0 writes it).
void add_snapshot_slices(train_snapshot& s, const model_config& cfg, int tp, int tp_rank, const pipeline_stage& stage,
                         const float* base);

// `reuse`: a snapshot already written, whose buffer is recycled (no page faults while training
// waits); may be null. Under ZeRO-1 the moments (ZeRO-3: and the parameters) are sharded over the data-parallel ranks: rank 0
// passes their collective as `shards` and receives every other rank's slice, while each other
// rank calls checkpoint_send_optimizer_shard at the same step. The checkpoint holds whole moments
// either way, so it resumes under any dp and zero.
std::unique_ptr<train_snapshot> checkpoint_snapshot(const model& m, const trainer& tr, const data_loader& loader,
                                                    const checkpoint_meta& meta,
                                                    std::unique_ptr<train_snapshot> reuse = nullptr,
                                                    collective* shards = nullptr);
// The whole (P) parameters into params_out, then the optimizer's whole moments into m_out and v_out,
// on rank 0 of `shards` (the data-parallel group): copies, or under ZeRO-1 (moments) and ZeRO-3
// (parameters too) its own shard plus every other rank's, which calls
// checkpoint_send_optimizer_shard at the same time.
void gather_training_state(const model& m, const trainer& tr, collective* shards, float* params_out, float* m_out,
                           float* v_out);
// A non-zero rank's part of checkpoint_snapshot: sends its moment shard (and under ZeRO-3 its
// parameter shard first) to rank 0; nothing when the optimizer is not sharded.
void checkpoint_send_optimizer_shard(const trainer& tr, collective& shards);

struct restored_position {
  long long step = 0, total_steps = 0;
};

// Loads `dir` into the model, the trainer and the loader. Throws std::runtime_error naming the
// tensor and both shapes on a model mismatch, both fingerprints on a tokenizer mismatch.
restored_position checkpoint_restore(const std::string& dir, model& m, trainer& tr, data_loader& loader,
                                     const checkpoint_meta& expected);

// Loads only the parameters ("model.*") of a checkpoint into `m`, checking names and shapes first.
void checkpoint_load_model(const std::string& dir, model& m);

// Writes snapshots on a background thread, one at a time, then applies retention.
class async_checkpointer {
 public:
  async_checkpointer(std::string root, int keep);
  ~async_checkpointer();
  // Hands over a snapshot; waits first if the previous one is still being written. Returns the
  // seconds spent waiting.
  double submit(std::unique_ptr<train_snapshot> s);
  // Waits for the current write; rethrows its error if it failed.
  void wait();
  // The last snapshot written, for its buffer to be reused (null if none is free).
  std::unique_ptr<train_snapshot> recycle();
  // Writes synchronously (used when checkpoint.async is false).
  static std::string write_now(const std::string& root, int keep, const train_snapshot& s);

 private:
  void loop();
  std::string root_;
  int keep_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::unique_ptr<train_snapshot> pending_, done_;
  bool busy_ = false, quit_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace wb
