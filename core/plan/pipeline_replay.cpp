// pipeline_replay: run_pipeline_step with a recording pipeline_work and a collective whose sends and
// receives do nothing, so the order is the engine's by construction, not a second copy of it.
#include "core/plan/pipeline_replay.hpp"

#include "core/parallel/pipeline_schedule.hpp"

namespace wb {
namespace {

// A stage's group where nothing travels: the schedules only post point-to-point batches.
class silent_pipeline_group final : public collective {
 public:
  explicit silent_pipeline_group(const pipeline_stage& st) : st_(st) {}
  int rank() const override { return st_.stage; }
  int world() const override { return st_.stages; }
  void all_reduce_sum(float*, size_t) override {}
  void reduce_scatter_sum(float*, size_t) override {}
  void all_gather(float*, size_t) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  void send(const void*, size_t, int, uint32_t) override {}
  void recv(void*, size_t, int, uint32_t) override {}
  void send_recv(const std::vector<p2p_op>&) override {}

 private:
  pipeline_stage st_;
};

class recording_work final : public pipeline_work {
 public:
  tensor forward(int chunk, int mb, const tensor&) override {
    events.push_back({true, chunk, mb});
    return tensor();  // undefined: the schedule then sends nothing
  }
  tensor backward(int chunk, int mb, const tensor&) override {
    events.push_back({false, chunk, mb});
    return tensor();
  }
  // The schedule posts a receive into it; one element, since nothing arrives.
  tensor receive_buffer() override { return tensor({1}, mem_category::temporaries); }
  std::vector<pipeline_event> events;
};

}  // namespace

std::vector<pipeline_event> pipeline_replay(const pipeline_stage& stage, int microbatches) {
  silent_pipeline_group group(stage);
  recording_work work;
  run_pipeline_step(group, stage, microbatches, work);
  return work.events;
}

}  // namespace wb
