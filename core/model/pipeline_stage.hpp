// Which layers a pipeline-parallel rank holds (Narayanan et al. 2021, "Efficient Large-Scale Language
// Model Training on GPU Clusters Using Megatron-LM", section 2.2). The model's layers are cut into
// stages x virtual_stages model chunks of equal size; stage s holds chunks s, s + stages,
// s + 2 stages, ... (its "virtual stages": one with the plain 1F1B schedule, several with the
// interleaved one). Chunk 0 also holds the embedding, the last chunk the final norm and the output
// layer. A tied output layer on another stage than the embedding gets its own copy there, kept equal
// by summing the two gradients (Megatron-LM's embedding group).
//
// Layer l of L belongs to model chunk l / (L / chunks); chunks must divide L (the planner and
// `wb check` ask for the same: parallel.pp * parallel.virtual_stages divides model.layers).
#pragma once
#include <string>

namespace wb {

struct pipeline_stage {
  int stage = 0, stages = 1, virtual_stages = 1;

  int chunks() const { return stages * virtual_stages; }         // model chunks over all stages
  int model_chunk(int local) const { return local * stages + stage; }
  bool holds_embedding() const { return stage == 0; }             // model chunk 0 is local chunk 0
  bool holds_head() const { return stage == stages - 1; }         // the last chunk is local chunk v-1
  bool split() const { return chunks() > 1; }
};

struct layer_span {
  int first = 0, last = 0;        // layers [first, last)
  bool embed = false;             // starts from token ids through the embedding
  bool head = false;              // ends with the final norm (the loss follows)
};

// The layers and ends of local chunk `local` of `st` for a model of `layers` layers.
inline layer_span stage_chunk_span(const pipeline_stage& st, int layers, int local) {
  int per = layers / st.chunks(), c = st.model_chunk(local);
  return {c * per, (c + 1) * per, c == 0, c == st.chunks() - 1};
}

// Empty when `layers` splits over the stage layout, else what is wrong and what to do.
std::string pipeline_stage_error(int layers, int stages, int virtual_stages);

}  // namespace wb
