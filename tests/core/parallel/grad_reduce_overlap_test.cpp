// Data-parallel reduction overlapped with backward, on thread-ranks (local_collective_group, whose
// sums add the ranks in rank order, so overlapped and synchronous results must be bit-identical):
// the buckets tile the arena from the last layer down; a bucket's reduction runs on the comm
// thread while backward is still in the layers below it; and the trainer with overlap gives the
// synchronous trainer's losses and weights exactly for ZeRO-0, 1 and 2 with gradient accumulation,
// with and without full recomputation. Under pipeline parallel each stage's reduction starts before
// the stage's schedule is over.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "tests/support/lm_batch.hpp"
#include "tests/support/thread_ranks.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "core/parallel/data_parallel.hpp"
#include "core/parallel/grad_reduce_overlap.hpp"
#include "core/parallel/local_collective.hpp"
#include "core/parallel/rank_layout.hpp"
#include "core/parallel/sub_collective.hpp"
#include "core/train/trainer.hpp"

using namespace wb;

namespace {

model_config tiny() {
  model_config c;
  c.family = "llama", c.layers = 3, c.dim = 32, c.heads = 4, c.kv_heads = 2, c.ffn = 64, c.vocab = 32, c.seq_len = 16;
  c.tied_embeddings = true;  // the embedding's gradient is written first (head) and last (lookup)
  return c;
}

// The events of one rank, from both of its threads, in the order they happened.
struct event_log {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> events;
  bool left_layer0 = false;
  void add(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(e);
  }
};

// A rank's collective that logs each reduction's start and holds the first one until backward has
// left layer 0 (at most 20 s): only a reduction running beside backward can see that happen.
class holding_collective final : public collective {
 public:
  holding_collective(collective& inner, event_log& log) : inner_(inner), log_(log) {}
  int rank() const override { return inner_.rank(); }
  int world() const override { return inner_.world(); }
  void all_reduce_sum(float* d, size_t n) override { started("all_reduce"), inner_.all_reduce_sum(d, n); }
  void reduce_scatter_sum(float* d, size_t n) override { started("reduce_scatter"), inner_.reduce_scatter_sum(d, n); }
  void all_gather(float* d, size_t n) override { inner_.all_gather(d, n); }
  void broadcast(void* d, size_t b, int root) override { inner_.broadcast(d, b, root); }
  void barrier() override { inner_.barrier(); }
  void send(const void* d, size_t b, int p, uint32_t t) override { inner_.send(d, b, p, t); }
  void recv(void* d, size_t b, int p, uint32_t t) override { inner_.recv(d, b, p, t); }
  void send_recv(const std::vector<p2p_op>& ops) override { started("send_recv"), inner_.send_recv(ops); }
  bool saw_backward_leave_layer0 = false;

 private:
  void started(const std::string& what) {
    std::unique_lock<std::mutex> lock(log_.mu);
    log_.events.push_back(what + " starts");
    log_.cv.notify_all();
    if (first_) {
      first_ = false;
      saw_backward_leave_layer0 = log_.cv.wait_for(lock, std::chrono::seconds(20), [this] { return log_.left_layer0; });
    }
  }
  collective& inner_;
  event_log& log_;
  bool first_ = true;
};

}  // namespace

TEST_CASE("Overlap buckets tile the gradient arena: the head's first, then the layers from the top down, the embedding last",
          "[parallel][overlap]") {
  model m(tiny(), 7);
  single_rank_collective one;
  grad_reduce_overlap per_layer(m, one, 0, 0), merged(m, one, 0, size_t(1) << 30);
  std::vector<chunk> b = per_layer.buckets();
  REQUIRE(b.size() == 5);  // the final norm (tied: the output layer is the embedding), 3 layers, the embedding
  CHECK(b[0].begin == m.param_offset(m.param_index("norm")));
  CHECK(b[0].begin == b[1].begin + b[1].size);  // just after the top layer
  CHECK(b[1].begin > b[2].begin);
  CHECK(b[2].begin > b[3].begin);
  CHECK(b[3].begin + b[3].size == b[2].begin);
  CHECK(b[4].begin == m.param_offset(m.param_index("tok_emb")));
  size_t total = 0;
  for (const chunk& c : b) total += c.size;
  CHECK(total == size_t(m.num_params()));
  std::vector<chunk> all = merged.buckets();
  CHECK(all.size() == b.size() - 2);  // the three layers in one bucket
  CHECK(all[1].begin == b[3].begin);
  CHECK(all[1].size == b[1].size + b[2].size + b[3].size);
  // Untied: the output layer joins the head's bucket.
  model_config untied = tiny();
  untied.tied_embeddings = false;
  model u(untied, 7);
  grad_reduce_overlap u_buckets(u, one, 0, 0);
  std::vector<chunk> ub = u_buckets.buckets();
  REQUIRE(ub.size() == 5);
  CHECK(ub[0].begin == u.param_offset(u.param_index("norm")));
  CHECK(ub[0].size == size_t(u.config().dim) * (1 + size_t(u.config().vocab)));
}

TEST_CASE("A bucket's reduction runs on the comm thread while backward is still in the layers below it",
          "[parallel][overlap]") {
  const int zero = GENERATE(0, 1);
  local_collective_group g(2, std::chrono::seconds(60));
  event_log logs[2];
  bool saw[2] = {false, false};
  std::vector<float> overlapped[2], reference[2];
  auto errors = wb::test::run_on_thread_ranks(g, [&](int r) {
    cpu_backend be(1);
    auto [tok, tgt] = wb::test::lm_batch_rows(r * 2, 2, 4000, 32);
    {  // the synchronous reference: whole-arena reduction after backward
      model m(tiny(), 7);
      m.zero_grad();
      tape tp(be);
      var l = m.loss(tp, tok, tgt);
      tp.backward(l);
      if (zero == 0) average_gradients(g.member(r), m.grad_arena(), 0);
      else zero1_reduce_gradients(g.member(r), m.grad_arena(), 0);
      reference[r].assign(m.grad_arena().f32(), m.grad_arena().f32() + m.num_params());
    }
    model m(tiny(), 7);
    m.zero_grad();
    holding_collective held(g.member(r), logs[r]);
    grad_reduce_overlap ov(m, held, zero, 0);  // one bucket per layer
    layer_hooks hooks;
    hooks.entered = [&](int l) {
      logs[r].add("backward entered layer " + std::to_string(l));
      ov.hooks().entered(l);
    };
    // Backward pauses after layer 1 until a reduction has started (so the order below does not
    // depend on how fast the comm thread wakes up), then goes on into layer 0.
    hooks.finished = [&](int l) {
      logs[r].add("backward left layer " + std::to_string(l));
      ov.hooks().finished(l);
      std::unique_lock<std::mutex> lock(logs[r].mu);
      auto started = [&] {
        for (const std::string& e : logs[r].events)
          if (e.find("starts") != std::string::npos) return true;
        return false;
      };
      if (l == 1) logs[r].cv.wait_for(lock, std::chrono::seconds(20), started);
      if (l == 0) logs[r].left_layer0 = true, logs[r].cv.notify_all();
    };
    tape tp(be);
    tp.set_layer_hooks(&hooks);
    var l = m.loss(tp, tok, tgt);
    tp.backward(l);
    ov.end_backward();
    if (zero == 0) ov.finish_all_reduce(0);
    else ov.finish_reduce_scatter(0, 1, {});
    saw[r] = held.saw_backward_leave_layer0;
    overlapped[r].assign(m.grad_arena().f32(), m.grad_arena().f32() + m.num_params());
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r << ", ZeRO-" << zero);
    REQUIRE(errors[size_t(r)] == "");
    const std::vector<std::string>& e = logs[r].events;
    REQUIRE(e.size() >= 5);
    CHECK(e[0] == "backward entered layer 2");  // the head's bucket (final norm) is posted here
    auto first_start = std::find_if(e.begin(), e.end(), [](const std::string& x) { return x.find("starts") != std::string::npos; });
    auto left0 = std::find(e.begin(), e.end(), "backward left layer 0");
    CHECK(first_start < left0);  // a bucket started before backward finished layer 0
    CHECK(saw[r]);  // and was still running when backward left layer 0
    // The same gradient as the synchronous reduction, bit for bit (the rank's shard under ZeRO-1).
    chunk s = zero == 1 ? chunk_range(overlapped[r].size(), 2, r) : chunk{0, overlapped[r].size()};
    size_t differ = 0;
    for (size_t i = s.begin; i < s.begin + s.size; ++i) differ += overlapped[r][i] != reference[r][i];
    CHECK(differ == 0);
  }
}

namespace {

struct run_result {
  std::vector<double> losses, norms;
  std::vector<float> params;
  std::string error;
};

// Two thread-ranks, 4 rows each per step in microbatches of 2 (accumulated), 5 steps.
std::vector<run_result> train_dp2(int zero, bool overlap, recompute_mode rc) {
  local_collective_group g(2, std::chrono::seconds(60));
  std::vector<run_result> out(2);
  auto errors = wb::test::run_on_thread_ranks(g, [&](int r) {
    cpu_backend be(1);
    model m(tiny(), 7);
    trainer_options o;
    o.optim.lr = 1e-2, o.optim.lr_min = 1e-3, o.optim.warmup_steps = 2, o.optim.clip = 0.5;  // clip active
    o.total_steps = 5, o.microbatch = 2, o.recompute = rc;
    o.data_parallel = &g.member(r), o.zero = zero, o.overlap_grad_reduce = overlap;
    trainer tr(m, be, o);
    for (int s = 0; s < 5; ++s) {
      auto [tok, tgt] = wb::test::lm_batch_rows(r * 4, 4, uint32_t(5000 + s % 2), 32);
      step_result res = tr.step(tok, tgt);
      out[size_t(r)].losses.push_back(res.loss), out[size_t(r)].norms.push_back(res.grad_norm);
    }
    out[size_t(r)].params.assign(m.param_arena().f32(), m.param_arena().f32() + m.num_params());
  });
  for (int r = 0; r < 2; ++r) out[size_t(r)].error = errors[size_t(r)];
  return out;
}

}  // namespace

TEST_CASE("The trainer with overlapped reduction gives the synchronous losses and weights bit for bit",
          "[parallel][overlap][trainer]") {
  const int zero = GENERATE(0, 1, 2);
  const recompute_mode rc = GENERATE(recompute_mode::none, recompute_mode::full);  // full: marks around the recomputed block
  INFO("ZeRO-" << zero << (rc == recompute_mode::full ? ", full recomputation" : ""));
  auto sync = train_dp2(zero, false, rc), over = train_dp2(zero, true, rc);
  for (int r = 0; r < 2; ++r) {
    REQUIRE(sync[size_t(r)].error == "");
    REQUIRE(over[size_t(r)].error == "");
    CHECK(over[size_t(r)].losses == sync[size_t(r)].losses);
    CHECK(over[size_t(r)].norms == sync[size_t(r)].norms);
    CHECK(over[size_t(r)].params == sync[size_t(r)].params);
  }
  CHECK(sync[0].losses[4] < sync[0].losses[0]);  // it trained (steps 0 and 4 see the same rows)
}

namespace {

// One rank's two groups under dp=2 x pp=2: the data-parallel one notes its first reduction; the
// pipeline one holds the loss broadcast that follows the schedule (pipeline_step.cpp) until then,
// at most `hold`. A reduction that waits for the schedule to end is not seen in time.
struct reduction_seen {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
};

class noting_collective final : public collective {
 public:
  noting_collective(collective& inner, reduction_seen& seen) : inner_(inner), seen_(seen) {}
  int rank() const override { return inner_.rank(); }
  int world() const override { return inner_.world(); }
  void all_reduce_sum(float* d, size_t n) override { note(), inner_.all_reduce_sum(d, n); }
  void reduce_scatter_sum(float* d, size_t n) override { note(), inner_.reduce_scatter_sum(d, n); }
  void all_gather(float* d, size_t n) override { inner_.all_gather(d, n); }
  void broadcast(void* d, size_t b, int root) override { inner_.broadcast(d, b, root); }
  void barrier() override { inner_.barrier(); }
  void send(const void* d, size_t b, int p, uint32_t t) override { inner_.send(d, b, p, t); }
  void recv(void* d, size_t b, int p, uint32_t t) override { inner_.recv(d, b, p, t); }
  void send_recv(const std::vector<p2p_op>& ops) override { note(), inner_.send_recv(ops); }

 private:
  void note() {
    std::lock_guard<std::mutex> lock(seen_.mu);
    seen_.started = true;
    seen_.cv.notify_all();
  }
  collective& inner_;
  reduction_seen& seen_;
};

class holding_pipeline final : public collective {
 public:
  holding_pipeline(collective& inner, reduction_seen& seen, std::chrono::milliseconds hold)
      : inner_(inner), seen_(seen), hold_(hold) {}
  int rank() const override { return inner_.rank(); }
  int world() const override { return inner_.world(); }
  void all_reduce_sum(float* d, size_t n) override { inner_.all_reduce_sum(d, n); }
  void reduce_scatter_sum(float* d, size_t n) override { inner_.reduce_scatter_sum(d, n); }
  void all_gather(float* d, size_t n) override { inner_.all_gather(d, n); }
  void broadcast(void* d, size_t b, int root) override {
    if (!checked) {
      checked = true;
      std::unique_lock<std::mutex> lock(seen_.mu);
      seen_before_schedule_end = seen_.cv.wait_for(lock, hold_, [this] { return seen_.started; });
    }
    inner_.broadcast(d, b, root);
  }
  void barrier() override { inner_.barrier(); }
  void send(const void* d, size_t b, int p, uint32_t t) override { inner_.send(d, b, p, t); }
  void recv(void* d, size_t b, int p, uint32_t t) override { inner_.recv(d, b, p, t); }
  void send_recv(const std::vector<p2p_op>& ops) override { inner_.send_recv(ops); }
  bool checked = false, seen_before_schedule_end = false;

 private:
  collective& inner_;
  reduction_seen& seen_;
  std::chrono::milliseconds hold_;
};

// One step of dp=2 x pp=2 (4 layers, 4 microbatches per replica); per rank, whether its
// data-parallel reduction had started when its schedule ended.
std::vector<bool> reduction_before_schedule_end(int zero, bool overlap, std::chrono::milliseconds hold) {
  const rank_layout layout = make_rank_layout(1, 2, 2, 4);
  local_collective_group g(4, std::chrono::seconds(60)), channel(4, std::chrono::seconds(60));
  std::vector<bool> seen(4);
  auto errors = wb::test::run_on_thread_ranks(g, [&](int r) {
    reduction_seen note;
    sub_collective dpg(channel.member(r), layout.dp_group(r), 200), ppg(g.member(r), layout.pp_group(r), 300);
    noting_collective dp(dpg, note);
    holding_pipeline pp(ppg, note, hold);
    model_config c = tiny();
    c.layers = 4;
    cpu_backend be(1);
    model m(c, 7, nullptr, pipeline_stage{layout.coords(r).pp, 2, 1});
    trainer_options o;
    o.total_steps = 1, o.microbatch = 1, o.zero = zero;
    o.data_parallel = &dp, o.pipeline = &pp;
    o.overlap_grad_reduce = overlap, o.data_parallel_own_channel = true;
    trainer tr(m, be, o);
    auto [tok, tgt] = wb::test::lm_batch_rows(layout.coords(r).dp * 4, 4, 6000, 32);
    tr.step(tok, tgt);
    if (!pp.checked) throw std::logic_error("the pipeline never broadcast the loss");
    seen[size_t(r)] = pp.seen_before_schedule_end;
  });
  for (int r = 0; r < 4; ++r) {
    INFO("rank " << r);
    REQUIRE(errors[size_t(r)] == "");
  }
  return seen;
}

}  // namespace

TEST_CASE("Under pipeline parallel every stage's reduction starts before its schedule is over",
          "[parallel][overlap][pipeline]") {
  const int zero = GENERATE(0, 1);
  INFO("ZeRO-" << zero);
  std::vector<bool> over = reduction_before_schedule_end(zero, true, std::chrono::seconds(20));
  for (int r = 0; r < 4; ++r) CHECK(over[size_t(r)]);
  // The check can fail: reduced after the step, no reduction has started by then.
  std::vector<bool> sync = reduction_before_schedule_end(zero, false, std::chrono::milliseconds(300));
  for (int r = 0; r < 4; ++r) CHECK_FALSE(sync[size_t(r)]);
}
