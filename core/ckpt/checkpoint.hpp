// A wb checkpoint: one directory per step under a checkpoint root,
//   ROOT/step-00000100/manifest.json        format version, step, recipe and hash, layout,
//                                           tokenizer fingerprint, training state, files
//   ROOT/step-00000100/tensors-R.safetensors  one file per writing rank
// Written under ROOT/.step-00000100.partial-PID, every file fsynced, committed by renaming the
// directory and fsyncing ROOT: a directory either is complete or does not carry a step name, and
// the loader only looks at step names. Each tensor records its global shape and the slice this file
// holds, so a checkpoint written with one layout can be read into another (docs/checkpoint.md).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/ckpt/safetensors.hpp"

namespace wb {

inline constexpr int ckpt_format_version = 1;

struct ckpt_tensor {
  std::string name;                 // "model.layers.0.attn.wq", "optim.m.model.layers.0.attn.wq"
  st_dtype dtype = st_dtype::f32;
  std::vector<int64_t> shape;       // of this slice
  std::vector<int64_t> global_shape;
  std::vector<int64_t> offset;      // where the slice starts in the global tensor
  const void* data = nullptr;
  int file = 0;                     // which tensors-FILE.safetensors holds it (one per writing rank)
};

struct ckpt_contents {
  uint64_t step = 0;
  std::string recipe_hash, tokenizer_fingerprint;
  nlohmann::json recipe;   // the resolved recipe
  nlohmann::json layout;   // {dp, tp, pp, ...}
  nlohmann::json state;    // counters, schedule, RNG, data-loader positions: the engine's to fill
  std::vector<ckpt_tensor> tensors;
};

// Writes one rank's file set and (rank 0) the manifest, then commits. Returns the step directory.
// Throws std::runtime_error naming the path on any I/O failure; nothing partial is left under a
// step name.
std::string ckpt_write(const std::string& root, const ckpt_contents& contents);

// Newest complete checkpoint under root, or nothing.
std::optional<std::string> ckpt_latest(const std::string& root);
std::vector<std::string> ckpt_list(const std::string& root);  // complete ones, oldest first

// Deletes all but the newest `keep` complete checkpoints, never the newest one and never one that a
// ckpt_reader holds open (it takes a shared lock); removes abandoned partial directories.
void ckpt_retain(const std::string& root, int keep);

struct ckpt_tensor_view {
  ckpt_tensor meta;  // data points into the mapped file
  size_t bytes = 0;
};

class ckpt_reader {
 public:
  // Opens a committed checkpoint: checks the manifest's format version, that every listed file
  // exists with its size, and (verify = true) re-reads every file against its CRC-32C.
  explicit ckpt_reader(const std::string& dir, bool verify = true);
  ~ckpt_reader();
  const std::string& dir() const { return dir_; }
  const nlohmann::json& manifest() const { return manifest_; }
  uint64_t step() const { return manifest_.at("step"); }
  const std::vector<ckpt_tensor_view>& tensors() const { return tensors_; }  // every slice
  // The one slice of a tensor stored whole; nullptr when absent or split into slices.
  const ckpt_tensor_view* find(const std::string& name) const;
  // Global shape of a tensor (from any of its slices); empty when absent.
  std::vector<int64_t> global_shape(const std::string& name) const;
  // Assembles the whole tensor from its slices into `out` (product(global_shape) elements of its
  // dtype); throws when the slices do not cover it exactly once.
  void read_global(const std::string& name, void* out) const;

 private:
  std::string dir_;
  int lock_fd_ = -1;
  nlohmann::json manifest_;
  std::vector<std::unique_ptr<safetensors_file>> files_;
  std::vector<ckpt_tensor_view> tensors_;
};

// Re-reads a checkpoint and checks every checksum; returns the problems found ("" when sound).
std::string ckpt_verify(const std::string& dir);

std::string ckpt_step_name(uint64_t step);  // "step-00000100"

}  // namespace wb
