// pipeline_replay: run_pipeline_step with a recording pipeline_work and a collective whose sends and
// receives do nothing, so the order is the engine's by construction, not a second copy of it.
#include "core/plan/pipeline_replay.hpp"

#include "core/parallel/pipeline_schedule.hpp"

namespace wb {
namespace {

// A stage's group where nothing travels: the schedules only post point-to-point batches.
class silent_pipeline_group final : public collective {
 public:
  explicit silent_pipeline_group(const pipeline_stage& st, std::vector<pipeline_step_event>* events = nullptr)
      : st_(st), events_(events) {}
  int rank() const override { return st_.stage; }
  int world() const override { return st_.stages; }
  void all_reduce_sum(float*, size_t) override {}
  void reduce_scatter_sum(float*, size_t) override {}
  void all_gather(float*, size_t) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  void send(const void*, size_t, int, uint32_t) override {}
  void recv(void*, size_t, int, uint32_t) override {}
  void send_recv(const std::vector<p2p_op>& ops) override {
    if (!events_) return;
    pipeline_step_event e;
    e.kind = pipeline_step_event::exchange;
    for (const p2p_op& op : ops) e.messages.push_back({op.send, op.peer, op.tag});
    events_->push_back(std::move(e));
  }

 private:
  pipeline_stage st_;
  std::vector<pipeline_step_event>* events_;  // null: nothing recorded
};

class recording_work final : public pipeline_work {
 public:
  // `steps`: also record the passes there, and return one-element outputs so the schedule posts
  // its sends; otherwise undefined ones, and it sends nothing.
  explicit recording_work(std::vector<pipeline_step_event>* steps = nullptr) : steps_(steps) {}
  tensor forward(int chunk, int mb, const tensor&) override {
    events.push_back({true, chunk, mb});
    return pass(pipeline_step_event::forward, chunk, mb);
  }
  tensor backward(int chunk, int mb, const tensor&) override {
    events.push_back({false, chunk, mb});
    return pass(pipeline_step_event::backward, chunk, mb);
  }
  // The schedule posts a receive into it; one element, since nothing arrives.
  tensor receive_buffer() override { return tensor({1}, mem_category::temporaries); }
  std::vector<pipeline_event> events;

 private:
  tensor pass(pipeline_step_event::kind_t kind, int chunk, int mb) {
    if (!steps_) return tensor();
    pipeline_step_event e;
    e.kind = kind, e.chunk = chunk, e.microbatch = mb;
    steps_->push_back(std::move(e));
    return tensor({1}, mem_category::temporaries);
  }
  std::vector<pipeline_step_event>* steps_;
};

}  // namespace

std::vector<pipeline_event> pipeline_replay(const pipeline_stage& stage, int microbatches) {
  silent_pipeline_group group(stage);
  recording_work work;
  run_pipeline_step(group, stage, microbatches, work);
  return work.events;
}

std::vector<pipeline_step_event> pipeline_replay_exchanges(const pipeline_stage& stage, int microbatches) {
  std::vector<pipeline_step_event> steps;
  silent_pipeline_group group(stage, &steps);
  recording_work work(&steps);
  run_pipeline_step(group, stage, microbatches, work);
  return steps;
}

}  // namespace wb
