// Snapshot, restore and the background writer.
#include "core/run/train_checkpoint.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <stdexcept>

#include "core/util/parallel_copy.hpp"

namespace wb {

namespace {

// The whole tensor (from however many slices it was written in), then this rank's part of it.
void read_into_shard(const ckpt_reader& r, const std::string& name, const parameter& p, float* to, std::vector<float>& whole) {
  if (p.shard.dim < 0) {
    r.read_global(name, to);
    return;
  }
  whole.resize(size_t(shape_numel(p.global_shape)));
  r.read_global(name, whole.data());
  take_shard(p, whole.data(), to);
}

}  // namespace

nlohmann::json model_config_to_json(const model_config& c) {
  return {{"family", c.family}, {"layers", c.layers}, {"dim", c.dim}, {"heads", c.heads}, {"kv_heads", c.kv_heads},
          {"ffn", c.ffn}, {"vocab", c.vocab}, {"seq_len", c.seq_len}, {"tied_embeddings", c.tied_embeddings},
          {"norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta}, {"precision", c.precision}};
}

model_config model_config_from_json(const nlohmann::json& j) {
  model_config c;
  c.family = j.at("family");
  c.layers = j.at("layers");
  c.dim = j.at("dim");
  c.heads = j.at("heads");
  c.kv_heads = j.at("kv_heads");
  c.ffn = j.at("ffn");
  c.vocab = j.at("vocab");
  c.seq_len = j.at("seq_len");
  c.tied_embeddings = j.at("tied_embeddings");
  c.norm_eps = j.at("norm_eps");
  c.rope_theta = j.at("rope_theta");
  c.precision = j.value("precision", "fp32");
  return c;
}

namespace {

// Tag of the ZeRO-1 moment messages (collective.hpp: tags < 2^16; no other user sends in train_run).
constexpr uint32_t moment_tag = 0x7a31;

}  // namespace

void gather_training_state(const model& m, const trainer& tr, collective* shards, float* params_out, float* m_out,
                           float* v_out) {
  const adamw& o = tr.optimizer();
  chunk own = o.shard();
  const zero3_parameters* z3 = tr.zero3();
  if (z3) parallel_copy(params_out + own.begin, z3->shard_parameters().f32(), own.size * 4);
  else parallel_copy(params_out, m.param_arena().f32(), size_t(m.num_params()) * 4);
  parallel_copy(m_out + own.begin, o.first_moment().f32(), own.size * 4);
  parallel_copy(v_out + own.begin, o.second_moment().f32(), own.size * 4);
  if (!shards || own.size == size_t(tr.num_params())) return;
  // Per peer in the order it sends: its parameters (ZeRO-3), then its moments.
  for (int r = 1; r < shards->world() && z3; ++r) {
    chunk c = chunk_range(size_t(tr.num_params()), shards->world(), r);
    shards->recv(params_out + c.begin, c.size * 4, r, moment_tag);
  }
  for (int r = 1; r < shards->world(); ++r) {
    chunk c = chunk_range(size_t(tr.num_params()), shards->world(), r);
    shards->recv(m_out + c.begin, c.size * 4, r, moment_tag);
    shards->recv(v_out + c.begin, c.size * 4, r, moment_tag);
  }
}

void checkpoint_send_optimizer_shard(const trainer& tr, collective& shards) {
  const adamw& o = tr.optimizer();
  if (o.shard().size == size_t(tr.num_params())) return;  // not sharded: rank 0 has it all
  if (const zero3_parameters* z3 = tr.zero3()) shards.send(z3->shard_parameters().f32(), o.shard().size * 4, 0, moment_tag);
  shards.send(o.first_moment().f32(), o.shard().size * 4, 0, moment_tag);
  shards.send(o.second_moment().f32(), o.shard().size * 4, 0, moment_tag);
}

void add_snapshot_slices(train_snapshot& s, const model_config& cfg, int tp, int tp_rank, const pipeline_stage& stage,
                         const float* base) {
  auto whole = param_layout(cfg);
  std::vector<param_spec> layout;
  for (size_t i : stage_param_indices(cfg, stage)) layout.push_back(whole[i]);
  std::vector<param_shard> shards;
  size_t P = 0;
  for (auto& spec : layout) {
    shards.push_back(tensor_parallel_shard(cfg, spec, tp, tp_rank));
    P += size_t(shape_numel(shard_shape(spec, shards.back())));
  }
  const int file = stage.stage * tp + tp_rank;
  size_t offset = 0;
  for (size_t i = 0; i < layout.size(); ++i) {
    const param_spec& spec = layout[i];
    const param_shard& sh = shards[i];
    auto shape = shard_shape(spec, sh);
    size_t n = size_t(shape_numel(shape));
    // replicated: identical on every tp rank, written once; a tied copy: identical to stage 0's
    if ((tp_rank == 0 || sh.dim >= 0) && !is_tied_copy(cfg, stage, spec.name)) {
      std::vector<int64_t> at(spec.shape.size(), 0);
      if (sh.dim >= 0) at[size_t(sh.dim)] = sh.offset;
      s.contents.tensors.push_back({"model." + spec.name, st_dtype::f32, shape, spec.shape, at, base + offset, file});
      s.contents.tensors.push_back({"optim.m." + spec.name, st_dtype::f32, shape, spec.shape, at, base + P + offset, file});
      s.contents.tensors.push_back({"optim.v." + spec.name, st_dtype::f32, shape, spec.shape, at, base + 2 * P + offset, file});
    }
    offset += n;
  }
}

std::unique_ptr<train_snapshot> checkpoint_snapshot(const model& m, const trainer& tr, const data_loader& loader,
                                                    const checkpoint_meta& meta, std::unique_ptr<train_snapshot> reuse,
                                                    collective* shards) {
  auto s = reuse ? std::move(reuse) : std::make_unique<train_snapshot>();
  s->contents = {};
  size_t P = size_t(m.num_params());
  s->storage.resize(3 * P);
  gather_training_state(m, tr, shards, s->storage.data(), s->storage.data() + P, s->storage.data() + 2 * P);
  auto& c = s->contents;
  c.step = uint64_t(tr.steps_done());
  c.recipe_hash = meta.recipe_hash;
  c.tokenizer_fingerprint = meta.tokenizer_fingerprint;
  c.recipe = meta.recipe;
  c.layout = meta.layout;
  loader_state ls = loader.state();
  std::vector<std::string> names;
  for (size_t i = 0; i < loader.sources(); ++i) names.push_back(loader.source(i).name);
  c.state = {{"step", tr.steps_done()},
             {"total_steps", meta.total_steps},
             {"adam_steps", tr.optimizer().steps()},
             // Checkpoints are taken between steps: the accumulation cycle is always at its start.
             {"grad_accumulation", {{"microbatch", 0}}},
             // Randomness is counter-based (init from model.init_seed, data order from train.seed,
             // sample and epoch): nothing stateful to save beyond the positions below.
             {"rng", {{"kind", "counter-based splitmix64"}}},
             {"model", model_config_to_json(meta.model)},
             {"tokenizer_path", meta.tokenizer_path},
             {"loader", {{"samples", ls.samples}, {"source_samples", ls.source_samples}, {"sources", names}}}};
  add_snapshot_slices(*s, m.config(), m.tp_size(), 0, m.stage(), s->storage.data());
  return s;
}

restored_position checkpoint_restore(const std::string& dir, model& m, trainer& tr, data_loader& loader,
                                     const checkpoint_meta& expected) {
  ckpt_reader r(dir);
  auto& man = r.manifest();
  std::string fp = man.value("tokenizer_fingerprint", "");
  if (!expected.tokenizer_fingerprint.empty() && fp != expected.tokenizer_fingerprint)
    throw std::runtime_error(fmt::format("{}: written with tokenizer {}, the recipe's tokenizer is {}", dir, fp,
                                         expected.tokenizer_fingerprint));
  // Check everything before changing anything: a refused checkpoint leaves the run untouched.
  // Tensors may be whole or in slices written by several ranks of another layout.
  struct copy { std::string name; float* to; const parameter* p; };
  std::vector<copy> copies;
  // The moments are read whole; a ZeRO-1 rank reads them into a temporary and keeps its shard.
  const adamw& opt = tr.optimizer();
  chunk own = opt.shard();
  const bool sharded = own.size != size_t(m.num_params());
  std::vector<float> whole_m(sharded ? size_t(m.num_params()) : 0), whole_v(whole_m.size());
  float* m1 = sharded ? whole_m.data() : opt.first_moment().f32();
  float* m2 = sharded ? whole_v.data() : opt.second_moment().f32();
  // ZeRO-3 has no parameter arena: the parameters are read whole too, then its shard kept.
  zero3_parameters* z3 = tr.zero3();
  std::vector<float> whole_p(z3 ? size_t(m.num_params()) : 0);
  for (size_t i = 0; i < m.params().size(); ++i) {
    const parameter& p = m.params()[i];
    size_t offset = m.param_offset(i);
    const shape_t& want = p.global_shape;
    for (auto [prefix, target] : {std::pair{"model.", z3 ? whole_p.data() + offset : p.v->data.f32()},
                                  std::pair{"optim.m.", m1 + offset}, std::pair{"optim.v.", m2 + offset}}) {
      std::string name = prefix + p.name;
      auto shape = r.global_shape(name);
      if (shape.empty()) throw std::runtime_error(fmt::format("{}: has no tensor '{}' that the recipe's model needs", dir, name));
      if (shape != want)
        throw std::runtime_error(fmt::format("{}: tensor '{}' has shape {}, the recipe's model needs {}", dir, name,
                                             shape_str(shape), shape_str(want)));
      copies.push_back({name, target, &p});
    }
  }
  auto& st = man.at("state");
  auto& ld = st.at("loader");
  std::vector<std::string> names = ld.at("sources");
  for (size_t i = 0; i < loader.sources(); ++i)
    if (i >= names.size() || names[i] != loader.source(i).name)
      throw std::runtime_error(fmt::format("{}: saved with data sources {}, the recipe's mix differs", dir,
                                           nlohmann::json(names).dump()));
  loader_state ls{ld.at("samples"), ld.at("source_samples").get<std::vector<uint64_t>>()};
  std::vector<float> whole;
  for (auto& c : copies) read_into_shard(r, c.name, *c.p, c.to, whole);
  if (z3) z3->load(whole_p.data());
  if (sharded) {
    std::copy(m1 + own.begin, m1 + own.begin + own.size, opt.first_moment().f32());
    std::copy(m2 + own.begin, m2 + own.begin + own.size, opt.second_moment().f32());
  }
  loader.restore(ls);
  tr.restore(st.at("step"), st.at("adam_steps"));
  return {st.at("step"), st.at("total_steps")};
}

void checkpoint_load_model(const std::string& dir, model& m) {
  ckpt_reader r(dir);
  for (auto& p : m.params()) {
    std::string name = "model." + p.name;
    auto shape = r.global_shape(name);
    if (shape.empty()) throw std::runtime_error(fmt::format("{}: has no tensor '{}' that the recipe's model needs", dir, name));
    if (shape != p.global_shape)
      throw std::runtime_error(fmt::format("{}: tensor '{}' has shape {}, the recipe's model needs {}", dir, name,
                                           shape_str(shape), shape_str(p.global_shape)));
  }
  std::vector<float> whole;
  for (auto& p : m.params()) read_into_shard(r, "model." + p.name, p, p.v->data.f32(), whole);
}

async_checkpointer::async_checkpointer(std::string root, int keep)
    : root_(std::move(root)), keep_(keep), thread_([this] { loop(); }) {}

async_checkpointer::~async_checkpointer() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

double async_checkpointer::submit(std::unique_ptr<train_snapshot> s) {
  auto t0 = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return !busy_ && !pending_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  pending_ = std::move(s);
  busy_ = true;
  cv_.notify_all();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::unique_ptr<train_snapshot> async_checkpointer::recycle() {
  std::lock_guard lock(mutex_);
  return std::move(done_);
}

void async_checkpointer::wait() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return !busy_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

std::string async_checkpointer::write_now(const std::string& root, int keep, const train_snapshot& s) {
  std::string dir = ckpt_write(root, s.contents);
  ckpt_retain(root, keep);
  return dir;
}

void async_checkpointer::loop() {
  while (true) {
    std::unique_ptr<train_snapshot> s;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return quit_ || pending_; });
      if (!pending_) return;
      s = std::move(pending_);
    }
    try {
      write_now(root_, keep_, *s);
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
    }
    {
      std::lock_guard lock(mutex_);
      busy_ = false;
      done_ = std::move(s);
    }
    cv_.notify_all();
  }
}

}  // namespace wb
