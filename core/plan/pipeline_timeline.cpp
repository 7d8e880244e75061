// pipeline_timeline: a discrete-event run of every stage's replayed order under one global clock.
// Between events, the stages in a pass advance their remaining work at the shared rate; the next
// event is the earliest pass to finish or batch to complete. Messages match in posting order per
// (sender, receiver, tag), as the fabric matches tagged messages.
#include "core/plan/pipeline_timeline.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>

#include "core/plan/pipeline_replay.hpp"

namespace wb {
namespace {

// Both sides' posting times of the messages on one (sender, receiver, tag), in order.
struct channel {
  std::vector<double> sent, received;
};

struct stage_state {
  std::vector<pipeline_step_event> events;
  size_t next = 0;
  enum { ready, computing, waiting, done } mode = ready;
  double remaining = 0, tp_share = 0;  // work left in the pass (one-rank seconds); its tp fraction
  // The exchange being waited on: its messages as (channel, index); `posted` when it was posted.
  std::vector<std::pair<channel*, std::pair<size_t, bool>>> pending;
  double posted = 0;
};

}  // namespace

pipeline_timeline_result pipeline_timeline(const pipeline_timeline_input& in) {
  const int p = in.stages;
  if (p < 1 || int(in.costs.size()) != p) throw std::invalid_argument("pipeline_timeline: one cost entry per stage is needed");
  std::vector<stage_state> st(static_cast<size_t>(p));
  for (int s = 0; s < p; ++s) st[size_t(s)].events = pipeline_replay_exchanges({s, p, in.virtual_stages}, in.microbatches);
  std::map<std::tuple<int, int, uint32_t>, channel> channels;

  pipeline_timeline_result r;
  r.finish_s.assign(size_t(p), 0);
  r.compute_s.assign(size_t(p), 0);
  r.tp_s.assign(size_t(p), 0);
  const double threads_per_stage = double(std::max(1, in.ranks_per_stage)) * std::max(1, in.threads_per_rank);
  const double inf = std::numeric_limits<double>::infinity();
  double now = 0;

  // When the pending exchange of `s` completes, or inf while a message's other side is not posted.
  auto completion = [&](const stage_state& s) {
    double t = s.posted;
    for (auto& [ch, at] : s.pending) {
      const std::vector<double>& other = at.second ? ch->received : ch->sent;
      if (other.size() <= at.first) return inf;
      const std::vector<double>& mine = at.second ? ch->sent : ch->received;
      t = std::max(t, std::max(mine[at.first], other[at.first]) + in.message_s);
    }
    return t;
  };

  for (;;) {
    // Start what can start now: passes, and exchanges (posting their messages).
    for (int s = 0; s < p; ++s) {
      stage_state& x = st[size_t(s)];
      if (x.mode != stage_state::ready) continue;
      if (x.next == x.events.size()) {
        x.mode = stage_state::done;
        r.finish_s[size_t(s)] = now;
        continue;
      }
      const pipeline_step_event& e = x.events[x.next];
      if (e.kind == pipeline_step_event::exchange) {
        x.pending.clear();
        for (const pipeline_message& m : e.messages) {
          channel& ch = channels[m.send ? std::make_tuple(s, m.peer, m.tag) : std::make_tuple(m.peer, s, m.tag)];
          std::vector<double>& side = m.send ? ch.sent : ch.received;
          x.pending.push_back({&ch, {side.size(), m.send}});
          side.push_back(now);
        }
        x.posted = now;
        x.mode = stage_state::waiting;
      } else {
        const pipeline_stage_costs& c = in.costs[size_t(s)];
        bool fwd = e.kind == pipeline_step_event::forward;
        double work = fwd ? c.forward_s.at(size_t(e.chunk)) : c.backward_s.at(size_t(e.chunk));
        double tp = fwd ? (c.forward_tp_s.empty() ? 0 : c.forward_tp_s.at(size_t(e.chunk)))
                        : (c.backward_tp_s.empty() ? 0 : c.backward_tp_s.at(size_t(e.chunk)));
        x.remaining = work + tp;
        x.tp_share = work + tp > 0 ? tp / (work + tp) : 0;
        x.mode = stage_state::computing;
      }
    }
    int computing = 0;
    bool all_done = true;
    for (auto& x : st) {
      computing += x.mode == stage_state::computing;
      all_done = all_done && x.mode == stage_state::done;
    }
    if (all_done) break;
    double rate = computing ? std::min(1.0, in.cores / (computing * threads_per_stage)) : 1;
    double next = inf;
    for (auto& x : st) {
      if (x.mode == stage_state::computing) next = std::min(next, now + x.remaining / rate);
      if (x.mode == stage_state::waiting) next = std::min(next, completion(x));
    }
    if (next == inf) throw std::logic_error("pipeline_timeline: the stages wait on each other forever (a schedule that deadlocks)");
    double dt = next - now;
    for (int s = 0; s < p; ++s) {
      stage_state& x = st[size_t(s)];
      if (x.mode == stage_state::computing) {
        r.compute_s[size_t(s)] += dt;
        r.tp_s[size_t(s)] += dt * x.tp_share;
        bool finished = now + x.remaining / rate <= next;  // this pass set `next`: no rounding residue
        x.remaining -= dt * rate;
        if (finished || x.remaining <= 0) x.mode = stage_state::ready, ++x.next;
      } else if (x.mode == stage_state::waiting && completion(x) <= next) {
        x.mode = stage_state::ready, ++x.next;
      }
    }
    now = next;
  }
  r.step_s = *std::max_element(r.finish_s.begin(), r.finish_s.end());
  return r;
}

}  // namespace wb
