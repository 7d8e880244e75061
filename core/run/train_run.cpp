// The training loop; see the header.
#include "core/run/train_run.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <fmt/format.h>

#include "core/parallel/rank_layout.hpp"
#include "core/parallel/sub_collective.hpp"

#include "core/data/data_error.hpp"
#include "core/data/data_loader.hpp"
#include "core/model/model.hpp"
#include "core/run/metrics_log.hpp"
#include "core/run/model_init.hpp"
#include "core/run/train_checkpoint.hpp"
#include "core/tensor/memory.hpp"
#include "core/tensor/tape.hpp"
#include "core/tokenizer/tokenizer_json.hpp"
#include "core/train/pipeline_step.hpp"
#include "core/train/trainer.hpp"

namespace wb {

// Splits loader rows of T+1 tokens into inputs (rows, T) and next-token targets (rows, T).
void fill_batch_rows(const std::vector<uint32_t>& rows, int T, const tensor& tokens, const tensor& targets) {
  int64_t n = tokens.dim(0);
  int32_t* x = tokens.i32();
  int32_t* y = targets.i32();
  for (int64_t r = 0; r < n; ++r)
    for (int t = 0; t < T; ++t) {
      x[r * T + t] = int32_t(rows[size_t(r) * (T + 1) + t]);
      y[r * T + t] = int32_t(rows[size_t(r) * (T + 1) + t + 1]);
    }
}

data_loader recipe_data_loader(const recipe& r, const tokenizer& tok, int dp_rank, int dp_size) {
  if (tok.vocab_size() > size_t(r.model.vocab))
    throw data_error(fmt::format("{}: the tokenizer has {} tokens but model.vocab is {}; set model.vocab >= {}",
                                 r.data.tokenizer, tok.vocab_size(), r.model.vocab, tok.vocab_size()));
  std::vector<loader_source> sources;
  for (auto& s : r.data.sources) sources.push_back({s.name, s.path, s.weight});
  loader_options lo;
  lo.seq_len = r.model.seq_len;
  lo.seed = uint64_t(r.train.seed);
  lo.valid_fraction = r.data.valid_fraction;
  lo.repeat = r.data.on_exhaust == "repeat";
  lo.tokenizer_fingerprint = tokenizer_fingerprint(tok);
  lo.vocab_size = uint32_t(r.model.vocab);
  lo.dp_rank = dp_rank;
  lo.dp_size = dp_size;
  return data_loader(sources, lo);
}

eval_report evaluate_valid(const recipe& r, const model& m, compute_backend& backend, const data_loader& loader,
                           long long step, collective* pipeline, const layer_hooks* hooks) {
  eval_report e;
  e.step = step;
  const int T = r.model.seq_len, B = r.parallel.microbatch;
  tensor tokens({B, T}, mem_category::activations, dtype::i32), targets({B, T}, mem_category::activations, dtype::i32);
  std::vector<uint32_t> rows;
  double weighted = 0, weight_sum = 0;
  for (size_t s = 0; s < loader.sources(); ++s) {
    double sum = 0;
    long long batches = 0;
    for (long long b = 0; b < r.train.eval_batches; ++b) {
      if (loader.valid_batch(s, uint64_t(b * B), size_t(B), rows) < size_t(B)) break;
      fill_batch_rows(rows, T, tokens, targets);
      if (pipeline) {
        sum += pipeline_forward_loss(m, backend, *pipeline, tokens, targets, B);
      } else {
        tape tp(backend, /*recording=*/false);
        tp.set_layer_hooks(hooks);
        sum += m.loss(tp, tokens, targets)->data.f32()[0];
      }
      ++batches;
    }
    if (batches == 0) continue;
    double loss = sum / double(batches);
    e.by_source.emplace_back(loader.source(s).name, loss);
    double w = r.data.sources[s].weight;
    weighted += w * loss;
    weight_sum += w;
  }
  e.loss = weight_sum > 0 ? weighted / weight_sum : NAN;
  return e;
}

namespace {

nlohmann::ordered_json memory_peaks() {
  nlohmann::ordered_json j;
  for (int c = 0; c < mem_category_count; ++c)
    j[mem_category_name(mem_category(c))] = memory().category(mem_category(c)).peak;
  j["total"] = memory().total().peak;
  return j;
}

// Every rank's peaks by category, gathered on rank 0 (null elsewhere): under tensor and pipeline
// parallel the ranks hold different things (the first stage the most activations, the last the
// logits), and these are what a per-rank memory prediction is checked against.
constexpr uint32_t peaks_tag = 0x7a33;  // collective.hpp's user tag space; unused elsewhere in train_run

nlohmann::ordered_json memory_peaks_by_rank(collective& ranks) {
  std::array<int64_t, mem_category_count + 1> mine{};
  for (int c = 0; c < mem_category_count; ++c) mine[size_t(c)] = int64_t(memory().category(mem_category(c)).peak);
  mine[mem_category_count] = int64_t(memory().total().peak);
  if (ranks.rank() != 0) {
    ranks.send(mine.data(), sizeof mine, 0, peaks_tag);
    return nullptr;
  }
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (int r = 0; r < ranks.world(); ++r) {
    std::array<int64_t, mem_category_count + 1> theirs = mine;
    if (r > 0) ranks.recv(theirs.data(), sizeof theirs, r, peaks_tag);
    nlohmann::ordered_json j;
    for (int c = 0; c < mem_category_count; ++c) j[mem_category_name(mem_category(c))] = theirs[size_t(c)];
    j["total"] = theirs[mem_category_count];
    all.push_back(j);
  }
  return all;
}

}  // namespace

// Tensor- and pipeline-parallel checkpoints: the writer (rank 0) receives the [params | m | v] of
// every other model-parallel rank of the first data-parallel replica and writes them as that rank's
// slices (add_snapshot_slices). Tag: collective.hpp's user space; nothing else in train_run uses it.
constexpr uint32_t shard_tag = 0x7a32;

// `moments`: under ZeRO the data-parallel group whose shards are gathered first (its other ranks
// call checkpoint_send_optimizer_shard), else null.
static void send_shards_to_writer(collective& ranks, const model& m, const trainer& tr, collective* moments) {
  int64_t n = m.num_params();
  ranks.send(&n, sizeof n, 0, shard_tag);
  if (!moments) {
    ranks.send(m.param_arena().f32(), size_t(n) * sizeof(float), 0, shard_tag);
    for (const tensor* a : {&tr.optimizer().first_moment(), &tr.optimizer().second_moment()})
      ranks.send(a->f32(), size_t(n) * sizeof(float), 0, shard_tag);
    return;
  }
  std::vector<float> whole(3 * size_t(n));
  gather_training_state(m, tr, moments, whole.data(), whole.data() + n, whole.data() + 2 * n);
  for (int k = 0; k < 3; ++k) ranks.send(whole.data() + size_t(k * n), size_t(n) * sizeof(float), 0, shard_tag);
}

static void receive_shards_of_peers(collective& ranks, const rank_layout& layout, train_snapshot& snap, const recipe& r) {
  snap.peer_storage.clear();
  snap.peer_storage.reserve(size_t(layout.tp * layout.pp));
  for (int stage = 0; stage < layout.pp; ++stage)
    for (int t = 0; t < layout.tp; ++t) {
      int peer = layout.rank_of({t, 0, stage});
      if (peer == 0) continue;
      int64_t n = 0;
      ranks.recv(&n, sizeof n, peer, shard_tag);
      auto& buf = snap.peer_storage.emplace_back(size_t(3 * n));
      for (int k = 0; k < 3; ++k) ranks.recv(buf.data() + size_t(k * n), size_t(n) * sizeof(float), peer, shard_tag);
      add_snapshot_slices(snap, r.model, layout.tp, t, pipeline_stage{stage, layout.pp, r.parallel.virtual_stages}, buf.data());
    }
}

run_summary train_run(const recipe& r, compute_backend& backend, const run_options& options,
                      const run_observer& observer) {
  run_summary summary;
  const int T = r.model.seq_len;
  collective* ranks = options.ranks && options.ranks->world() > 1 ? options.ranks : nullptr;
  const int world = ranks ? ranks->world() : 1;
  const bool lead = !ranks || ranks->rank() == 0;  // evaluates, writes metrics and checkpoints
  // Tensor parallel innermost, then data, then pipeline parallel: Megatron's order
  // (core/parallel/rank_layout.hpp). Without tp and pp the data-parallel group is all ranks, over the
  // backend's own collectives.
  const int tp = ranks ? r.parallel.tp : 1, pp = ranks ? r.parallel.pp : 1;
  if (world % (tp * pp))
    throw std::runtime_error(fmt::format("Invalid 'parallel.tp' {} x 'parallel.pp' {}: expected a divisor of the number of "
                                         "ranks ({})", tp, pp, world));
  const rank_layout layout = make_rank_layout(tp, world / (tp * pp), pp, world);
  const rank_coords me = layout.coords(ranks ? ranks->rank() : 0);
  const int dp_size = layout.dp;
  const pipeline_stage stage{me.pp, pp, pp > 1 ? r.parallel.virtual_stages : 1};
  // With tensor or pipeline parallel and the overlap on, data parallel gets a channel of its own, so
  // the trainer's comm thread reduces gradients beside backward's tp all-reduces and stage sends.
  std::unique_ptr<collective> dp_channel;
  if (dp_size > 1 && tp * pp > 1 && r.parallel.overlap_grad_reduce) dp_channel = ranks->open_channel();
  std::optional<sub_collective> tp_group, dp_group, pp_group;
  if (tp > 1) tp_group.emplace(*ranks, layout.tp_group(ranks->rank()), 100);
  if (dp_size > 1 && tp * pp > 1) dp_group.emplace(dp_channel ? *dp_channel : *ranks, layout.dp_group(ranks->rank()), 200);
  if (pp > 1) pp_group.emplace(*ranks, layout.pp_group(ranks->rank()), 300);
  collective* dp = tp * pp > 1 ? (dp_group ? &*dp_group : nullptr) : ranks;
  collective* pipeline = pp_group ? &*pp_group : nullptr;
  const bool first_replica = me.dp == 0;  // the model-parallel ranks that evaluate and checkpoint with the lead
  if (r.parallel.global_batch % (dp_size * r.parallel.microbatch) != 0)
    throw std::runtime_error(fmt::format("Invalid 'parallel.global_batch' {}: expected a multiple of microbatch x dp "
                                         "({} x {}) for {} data-parallel ranks",
                                         r.parallel.global_batch, r.parallel.microbatch, dp_size, dp_size));

  // Data first: a missing shard set or tokenizer mismatch is reported before any model memory.
  tokenizer tok = tokenizer_load(r.data.tokenizer);
  data_loader loader = recipe_data_loader(r, tok, me.dp, dp_size);
  loader_options lo;
  lo.tokenizer_fingerprint = tokenizer_fingerprint(tok);

  backend.set_threads(r.train.threads);
  model m(r.model, uint64_t(r.model.init_seed), tp_group ? &*tp_group : nullptr, stage);
  m.set_sequence_parallel(r.parallel.sequence_parallel);
  summary.params = m.num_params();

  // Checkpoints: where, and whether this run continues an earlier one.
  namespace fs = std::filesystem;
  std::string root = fs::path(r.checkpoint.dir).is_absolute() ? r.checkpoint.dir
                                                               : (fs::path(options.run_dir) / r.checkpoint.dir).string();
  std::string resume = options.resume.empty() ? r.checkpoint.resume : options.resume;
  std::optional<std::string> resume_dir;
  if (resume == "auto") resume_dir = ckpt_latest(root);
  else if (resume != "never") {
    if (!fs::exists(fs::path(resume) / "manifest.json"))
      throw std::runtime_error(fmt::format("{}: not a complete checkpoint (no manifest.json); resume from a step-N "
                                           "directory of a checkpoint folder, or use --resume auto", resume));
    resume_dir = resume;
  }
  long long steps = options.steps > 0 ? options.steps : r.train.steps;
  if (resume_dir && options.steps <= 0) {
    // Keep the schedule the interrupted run was on.
    ckpt_reader peek(*resume_dir, false);
    steps = peek.manifest().at("state").at("total_steps");
  }
  checkpoint_meta meta;
  meta.recipe_hash = options.recipe_hash;
  meta.tokenizer_fingerprint = lo.tokenizer_fingerprint;
  meta.tokenizer_path = r.data.tokenizer;
  meta.model = r.model;
  meta.recipe = options.recipe_json;
  // ZeRO shards AdamW state over the data-parallel group of each model-parallel rank (the ranks that
  // hold the same tp slice of the same pipeline stage); the layout records the stage.
  const int zero = ranks ? r.parallel.zero : 0;
  meta.layout = {{"dp", dp_size}, {"tp", tp}, {"pp", pp}, {"virtual_stages", stage.virtual_stages}, {"ranks", world},
                 {"zero", zero}};
  meta.total_steps = steps;

  trainer_options to;
  to.optim = r.optim;
  to.total_steps = steps;
  to.microbatch = r.parallel.microbatch;
  to.recompute = recompute_from_string(r.parallel.recompute);
  to.nan_policy = r.train.nan_policy;
  to.data_parallel = dp;
  to.data_parallel_own_channel = dp_channel != nullptr;
  to.zero = zero;  // the recipe refuses stages 2 and 3 with pipeline parallel (layout_check)
  to.pipeline = pipeline;
  to.overlap_grad_reduce = r.parallel.overlap_grad_reduce;
  // Before the trainer: under ZeRO-3 it takes its shard of these weights and frees the arena.
  if (!resume_dir) summary.init = model_initialize(m, r.model.init);
  // Every replica starts from rank 0's weights, whatever the initialiser did elsewhere.
  if (dp && !resume_dir) dp->broadcast(m.param_arena().f32(), m.param_arena().nbytes(), 0);
  trainer tr(m, backend, to);
  long long first_step = 1;
  if (resume_dir) {
    auto pos = checkpoint_restore(*resume_dir, m, tr, loader, meta);
    summary.resumed_from = pos.step;
    first_step = pos.step + 1;
  }
  std::optional<async_checkpointer> writer;
  std::optional<metrics_log> metrics;
  if (lead) {
    writer.emplace(root, int(r.checkpoint.keep));
    metrics.emplace((std::filesystem::path(options.run_dir) / "metrics.jsonl").string());
    if (resume_dir) metrics->write({{"resumed_from", *resume_dir}, {"step", summary.resumed_from}});
  }
  const int rows = r.parallel.global_batch / dp_size;  // this data-parallel rank's share of each step
  tensor tokens({rows, T}, mem_category::activations, dtype::i32), targets({rows, T}, mem_category::activations, dtype::i32);
  std::vector<uint32_t> batch;
  auto start = std::chrono::steady_clock::now();
  double trained_seconds = 0;
  long long step = first_step;
  for (; step <= steps; ++step) {
    memory().reset_peaks();
    auto t0 = std::chrono::steady_clock::now();
    loader.next_batch(r.parallel.global_batch, batch);  // this rank's rows of it
    fill_batch_rows(batch, T, tokens, targets);
    step_result res = tr.step(tokens, targets);
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    trained_seconds += dt;

    step_report rep;
    rep.step = step;
    rep.steps = steps;
    rep.tokens = step * r.parallel.global_batch * T;
    rep.loss = res.loss;
    rep.lr = res.lr;
    rep.grad_norm = res.grad_norm;
    rep.step_time_s = dt;
    rep.tokens_per_s = double(r.parallel.global_batch) * T / dt;
    rep.eta_s = trained_seconds / double(step - first_step + 1) * double(steps - step);
    rep.skipped = res.skipped;
    if (step == first_step) summary.first_loss = res.loss;
    summary.last_loss = res.loss;
    nlohmann::ordered_json j;
    j["step"] = step;
    j["loss"] = res.loss;
    j["lr"] = res.lr;
    j["grad_norm"] = res.grad_norm;
    j["tokens"] = rep.tokens;
    j["tokens_per_s"] = rep.tokens_per_s;
    j["step_time_s"] = dt;
    j["skipped"] = res.skipped;
    j["peak_memory_bytes"] = memory_peaks();
    if (ranks) {
      nlohmann::ordered_json by_rank = memory_peaks_by_rank(*ranks);
      if (lead) j["peak_memory_bytes_by_rank"] = std::move(by_rank);
    }
    if (lead) metrics->write(j);
    if (lead && observer.on_step) observer.on_step(rep);

    // ZeRO-3: every replica runs it, each layer's parameters gathered over the data-parallel group
    const zero3_parameters* z3 = tr.zero3();
    if ((first_replica || z3) && ((r.train.eval_every > 0 && step % r.train.eval_every == 0) || step == steps)) {
      // tp or pp > 1: every model-parallel rank of the first replica computes it together
      eval_report e = evaluate_valid(r, m, backend, loader, step, pipeline, z3 ? &z3->hooks() : nullptr);
      if (lead) {
        nlohmann::ordered_json ej;
        ej["step"] = step;
        ej["eval_loss"] = e.loss;
        for (auto& [name, loss] : e.by_source) ej["eval_loss_by_source"][name] = loss;
        metrics->write(ej);
        summary.evals.push_back(e);
        if (observer.on_eval) observer.on_eval(e);
      }
    }

    bool stopping = options.stop && options.stop->load();
    if (ranks) {  // one rank's SIGTERM stops every rank after this same step
      float any = stopping ? 1.0f : 0.0f;
      ranks->all_reduce_sum(&any, 1);
      stopping = any > 0;
    }
    bool checkpoint_now = (r.checkpoint.every > 0 && step % r.checkpoint.every == 0) || step == steps || stopping;
    // ZeRO: the first replica's rank of each stage gathers its data-parallel group's moments (and
    // under ZeRO-3 parameters)
    const bool sharded = zero >= 1 && dp_size > 1;
    if (checkpoint_now && sharded && !first_replica) checkpoint_send_optimizer_shard(tr, *dp);
    if (checkpoint_now && tp * pp > 1 && first_replica && !lead) send_shards_to_writer(*ranks, m, tr, sharded ? dp : nullptr);
    if (lead && checkpoint_now) {
      auto c0 = std::chrono::steady_clock::now();
      auto snap = checkpoint_snapshot(m, tr, loader, meta, writer->recycle(), sharded ? dp : nullptr);
      if (tp * pp > 1) receive_shards_of_peers(*ranks, layout, *snap, r);
      if (r.checkpoint.async && !stopping) writer->submit(std::move(snap));
      else {
        writer->wait();
        async_checkpointer::write_now(root, int(r.checkpoint.keep), *snap);
      }
      double blocked = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
      summary.checkpoint_blocked_s.push_back(blocked);
      summary.last_checkpoint = (fs::path(root) / ckpt_step_name(uint64_t(step))).string();
      metrics->write({{"checkpoint", summary.last_checkpoint}, {"step", step}, {"blocked_s", blocked},
                     {"async", r.checkpoint.async && !stopping}});
    }
    if (stopping) {
      summary.stopped = true;
      break;
    }
  }
  if (writer) writer->wait();
  // Ranks leave together: the last checkpoint is complete before any rank reports success.
  if (ranks) ranks->barrier();
  if (!summary.stopped) step = steps;
  summary.steps = std::min(step, steps);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace wb
