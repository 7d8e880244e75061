// A Llama or GPT model built from a model_config: parameters in one flat arena (charged to
// `parameters`), gradients in a second one (`gradients`), each parameter a view of both, so the
// optimizer and grad-norm clipping run over flat arrays. Initialisation is deterministic from the
// seed (see param_layout.cpp for the scheme). The forward pass goes through a tape and a compute
// backend, from tokens to the mean cross-entropy.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "core/model/param_layout.hpp"
#include "core/tensor/ops.hpp"

namespace wb {

// Activation recomputation (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
// Transformer Models"): selective drops the attention probabilities and rebuilds them in backward;
// full keeps only each block's input and reruns the block.
enum class recompute_mode : uint8_t { none, selective, full };
recompute_mode recompute_from_string(const std::string& s);  // "none" | "selective" | "full"

struct parameter {
  std::string name;
  var v;  // data and grad are views of the model's arenas
  bool decay;
  shape_t global_shape;  // the whole parameter; v holds `shard` of it under tensor parallel
  param_shard shard;     // dim -1: v is the whole parameter
  bool tied_copy = false;  // the last pipeline stage's copy of a tied embedding (pipeline_stage.hpp)
};

class collective;

class model {
 public:
  // tensor_parallel: this rank's tp group (core/parallel/sub_collective.hpp); the model then
  // allocates only its shard of each split parameter (tensor_parallel_shard), initialised to the
  // same values as that slice of the single-process model, and its forward pass runs the
  // Megatron-LM operators (core/model/tensor_parallel_ops.hpp). Null or a group of one: no split.
  // stage: under pipeline parallel, the model holds only that stage's chunks (pipeline_stage.hpp),
  // with the same values as those parameters of the whole model.
  model(const model_config& cfg, uint64_t seed, collective* tensor_parallel = nullptr, pipeline_stage stage = {});
  const model_config& config() const { return cfg_; }
  // bf16 mixed precision (model.precision = "bf16"; mixed_precision.hpp), else fp32 throughout.
  bool bf16() const { return cfg_.precision == "bf16"; }
  const std::vector<parameter>& params() const { return params_; }
  const var& param(const std::string& name) const;
  size_t param_index(const std::string& name) const;  // into params()
  int64_t num_params() const { return num_params_; }
  // Where params()[i] starts in the arena (elements); stays valid when the arena is dropped.
  size_t param_offset(size_t i) const { return offsets_[i]; }
  const tensor& param_arena() const { return param_arena_; }  // (P)
  const tensor& grad_arena() const { return grad_arena_; }    // (P)
  void zero_grad() const { grad_arena_.zero(); }
  // ZeRO-2 (core/parallel/zero2.hpp): frees the gradient arena; every parameter's gradient is then
  // undefined until its owner binds it to a buffer of its own, and grad_arena() is undefined.
  void drop_grad_arena();
  // ZeRO-3 (core/parallel/zero3.hpp): frees the parameter arena; every parameter's data keeps its
  // shape but no storage until its owner binds it to a buffer of its own, and param_arena() is
  // undefined. num_params and param_offset stay.
  void drop_param_arena();
  collective* tensor_parallel() const { return tp_; }  // null when not split
  int tp_size() const;
  // Sequence parallel (tensor_parallel_ops.hpp; recipe parallel.sequence_parallel): the residual
  // stream between the tensor-parallel regions is split over the tp group by tokens, and a
  // chunk's hidden input and output are this rank's block (B, T/tp, C). Ignored without a split.
  void set_sequence_parallel(bool on) { sequence_parallel_ = on; }
  bool sequence_parallel() const { return sequence_parallel_ && tp_size() > 1; }
  // The hidden states a chunk passes on for a (B, T) batch: (B, T, C), or (B, T/tp, C) under
  // sequence parallel.
  shape_t hidden_shape(int64_t B, int64_t T) const;
  const pipeline_stage& stage() const { return stage_; }

  // tokens, targets: i32 (B, T) with T <= seq_len; targets of -1 are ignored. Returns the mean
  // cross-entropy (1); call tp.backward(loss, scale) to accumulate into the gradient arena.
  // A model split over pipeline stages has no whole forward pass: use chunk_forward.
  var loss(tape& tp, const tensor& tokens, const tensor& targets, recompute_mode rc = recompute_mode::none) const;

  // Pipeline parallel: the forward pass of this stage's local chunk `local`. Its input is `tokens`
  // when the chunk holds the embedding, else `hidden` (hidden_shape) from the previous chunk; it
  // returns the next hidden states (hidden_shape) or, for the last chunk, the mean cross-entropy
  // against targets.
  var chunk_forward(tape& tp, int local, const var& hidden, const tensor& tokens, const tensor& targets,
                    recompute_mode rc = recompute_mode::none) const;

 private:
  var head_loss(tape& tp, const var& x, const tensor& targets) const;

  model_config cfg_;
  pipeline_stage stage_;
  collective* tp_ = nullptr;
  bool sequence_parallel_ = false;
  tensor param_arena_, grad_arena_;
  int64_t num_params_ = 0;
  std::vector<parameter> params_;
  std::vector<size_t> offsets_;  // params_[i]'s start in the arena
  std::unordered_map<std::string, size_t> index_;
};

// Copies the parameter's part of a whole (global_shape) tensor into `out` (v's shape): all of it
// when the parameter is not split, its rows or columns under tensor parallel.
void take_shard(const parameter& p, const float* whole, float* out);
// The inverse for checkpoints: where p's data sits in the global tensor (one offset per dim).
std::vector<int64_t> shard_offset(const parameter& p);

// The family forward passes (llama.cpp, gpt.cpp) over a span of layers: from token ids (B, T) when
// span.embed, else from hidden states (B, T, C); returns (B, T, C), after the final norm when span.head.
var llama_span(tape& tp, const model& m, const var& input, layer_span span, recompute_mode rc);
var gpt_span(tape& tp, const model& m, const var& input, layer_span span, recompute_mode rc);
// All layers: token ids to the final hidden states.
var llama_hidden(tape& tp, const model& m, const var& tokens, recompute_mode rc);
var gpt_hidden(tape& tp, const model& m, const var& tokens, recompute_mode rc);

}  // namespace wb
