// The 1F1B and interleaved schedules; see the header. Variable names follow Megatron-LM's
// schedules.py so the two can be read side by side. An undefined tensor plays Python's None.
#include "core/parallel/pipeline_schedule.hpp"

#include <algorithm>
#include <deque>
#include <stdexcept>

#include <fmt/format.h>

namespace wb {
namespace {

// The stage's neighbours and the batched exchange with them (Megatron-LM p2p_communication
// _communicate): optional activations to the next stage and gradient to the previous one, optional
// receives of activations from the previous stage and of a gradient from the next one.
struct neighbours {
  collective& group;
  pipeline_work& work;
  int next, prev;

  struct received {
    tensor forward, backward;
  };
  received communicate(const tensor& send_next, const tensor& send_prev, bool recv_prev, bool recv_next) {
    received r;
    std::vector<p2p_op> ops;
    if (send_next.defined()) ops.push_back({true, send_next.raw(), send_next.nbytes(), next, forward_tag});
    if (send_prev.defined()) ops.push_back({true, send_prev.raw(), send_prev.nbytes(), prev, backward_tag});
    if (recv_prev) {
      r.forward = work.receive_buffer();
      ops.push_back({false, r.forward.raw(), r.forward.nbytes(), prev, forward_tag});
    }
    if (recv_next) {
      r.backward = work.receive_buffer();
      ops.push_back({false, r.backward.raw(), r.backward.nbytes(), next, backward_tag});
    }
    if (!ops.empty()) group.send_recv(ops);
    return r;
  }
};

void check_group(const collective& group, const pipeline_stage& st, int microbatches) {
  if (group.world() != st.stages || group.rank() != st.stage)
    throw std::invalid_argument(fmt::format("pipeline: stage {} of {} needs a group of {} ranks where it is rank {}, got "
                                            "rank {} of {}", st.stage, st.stages, st.stages, st.stage, group.rank(), group.world()));
  if (microbatches < 1) throw std::invalid_argument("pipeline: a step needs at least one microbatch");
}

// PipeDream-Flush (forward_backward_pipelining_without_interleaving): the stages form a line.
void one_forward_one_backward(collective& group, const pipeline_stage& st, int m, pipeline_work& work) {
  const int p = st.stages, s = st.stage;
  const bool first = s == 0, last = s == p - 1;
  neighbours nb{group, work, s + 1, s - 1};
  const tensor none;
  const int warmup = std::min(p - s - 1, m), remaining = m - warmup;
  auto recv_forward = [&] { return first ? tensor() : nb.communicate(none, none, true, false).forward; };
  int forwards = 0, backwards = 0;
  for (int i = 0; i < warmup; ++i) {
    tensor output = work.forward(0, forwards++, recv_forward());
    nb.communicate(output, none, false, false);  // warm-up stages are never the last
  }
  tensor input = remaining > 0 ? recv_forward() : tensor();
  for (int i = 0; i < remaining; ++i) {
    tensor output = work.forward(0, forwards++, input);
    tensor output_grad = last ? tensor() : nb.communicate(output, none, false, true).backward;
    tensor input_grad = work.backward(0, backwards++, output_grad);
    if (i == remaining - 1) {
      input = tensor();
      if (!first) nb.communicate(none, input_grad, false, false);
    } else {
      input = first ? tensor() : nb.communicate(none, input_grad, true, false).forward;
    }
  }
  for (int i = 0; i < warmup; ++i) {
    tensor output_grad = last ? tensor() : nb.communicate(none, none, false, true).backward;
    tensor input_grad = work.backward(0, backwards++, output_grad);
    if (!first) nb.communicate(none, input_grad, false, false);
  }
}

// forward_backward_pipelining_with_interleaving: v chunks per stage, the stages form a ring.
void interleaved(collective& group, const pipeline_stage& st, int m, pipeline_work& work) {
  const int p = st.stages, s = st.stage, v = st.virtual_stages;
  if (m % p)
    throw std::invalid_argument(fmt::format("The interleaved pipeline schedule needs the microbatches per step ({}) to be a "
                                            "multiple of parallel.pp ({}); change parallel.global_batch or parallel.microbatch, "
                                            "or set parallel.virtual_stages = 1", m, p));
  neighbours nb{group, work, (s + 1) % p, (s - 1 + p) % p};
  const tensor none;
  const int total = m * v;
  const bool all_warmup = m == p;
  const int warmup = all_warmup ? total : std::min((p - s - 1) * 2 + (v - 1) * p, total);
  const int remaining = total - warmup;
  const bool first_stage = s == 0, last_stage = s == p - 1;  // ignoring the virtual chunk
  auto chunk_id = [&](int k, bool forward) {
    int c = ((k % (p * v) + p * v) % (p * v)) / p;  // Python's modulo: k may be negative (k - (p - 1))
    return forward ? c : v - c - 1;
  };
  auto is_first_chunk = [&](int c) { return first_stage && c == 0; };    // holds the embedding
  auto is_last_chunk = [&](int c) { return last_stage && c == v - 1; };  // ends with the loss
  std::vector<std::deque<tensor>> inputs(static_cast<size_t>(v)), output_grads(static_cast<size_t>(v));
  std::vector<int> forwarded(static_cast<size_t>(v), 0), backwarded(static_cast<size_t>(v), 0);

  auto forward_step = [&](int k) {
    int c = chunk_id(k, true);
    auto& in = inputs[size_t(c)];
    if (is_first_chunk(c) && int(in.size()) == forwarded[size_t(c)] - backwarded[size_t(c)]) in.push_back(tensor());
    tensor output = work.forward(c, forwarded[size_t(c)]++, in.back());
    return is_last_chunk(c) ? tensor() : output;
  };
  auto backward_step = [&](int k) {
    int c = chunk_id(k, false);
    auto& grads = output_grads[size_t(c)];
    if (is_last_chunk(c) && grads.empty()) grads.push_back(tensor());
    inputs[size_t(c)].pop_front();
    tensor output_grad = grads.front();
    grads.pop_front();
    tensor input_grad = work.backward(c, backwarded[size_t(c)]++, output_grad);
    return is_first_chunk(c) ? tensor() : input_grad;
  };

  inputs[0].push_back(first_stage ? tensor() : nb.communicate(none, none, true, false).forward);
  for (int k = 0; k < warmup; ++k) {
    tensor output = forward_step(k);
    int next_chunk = chunk_id(k + 1, true);
    bool recv_prev = !(first_stage && next_chunk == 0) && k != total - 1;
    tensor input;
    if (k == warmup - 1 && !all_warmup) {
      bool recv_next = !last_stage;
      auto r = nb.communicate(output, none, recv_prev, recv_next);
      input = r.forward;
      output_grads[size_t(v - 1)].push_back(r.backward);
    } else {
      input = nb.communicate(output, none, recv_prev, false).forward;
    }
    inputs[size_t(next_chunk)].push_back(input);
  }
  for (int k = 0; k < remaining; ++k) {
    int forward_k = k + warmup, backward_k = k;
    tensor output = forward_step(forward_k);
    tensor input_grad = backward_step(backward_k);
    bool recv_prev = true;
    int next_forward_chunk;
    if (first_stage) {
      next_forward_chunk = chunk_id(forward_k - (p - 1), true);
      if (next_forward_chunk == v - 1) recv_prev = false;
      next_forward_chunk += 1;
    } else {
      next_forward_chunk = chunk_id(forward_k + 1, true);
    }
    bool recv_next = true;
    int next_backward_chunk;
    if (last_stage) {
      next_backward_chunk = chunk_id(backward_k - (p - 1), false);
      if (next_backward_chunk == 0) recv_next = false;
      next_backward_chunk -= 1;
    } else {
      next_backward_chunk = chunk_id(backward_k + 1, false);
    }
    if (k == remaining - 1) recv_prev = false;
    auto r = nb.communicate(output, input_grad, recv_prev, recv_next);
    if (recv_prev) inputs[size_t(next_forward_chunk)].push_back(r.forward);
    if (recv_next) output_grads[size_t(next_backward_chunk)].push_back(r.backward);
  }
  if (all_warmup) output_grads[size_t(v - 1)].push_back(last_stage ? tensor() : nb.communicate(none, none, false, true).backward);
  for (int k = remaining; k < total; ++k) {
    tensor input_grad = backward_step(k);
    int next_chunk = chunk_id(k + 1, false);
    bool recv_next = !(last_stage && next_chunk == v - 1) && k != total - 1;
    output_grads[size_t(next_chunk)].push_back(nb.communicate(none, input_grad, false, recv_next).backward);
  }
}

}  // namespace

void run_pipeline_step(collective& group, const pipeline_stage& st, int microbatches, pipeline_work& work) {
  check_group(group, st, microbatches);
  if (st.virtual_stages > 1) interleaved(group, st, microbatches, work);
  else one_forward_one_backward(group, st, microbatches, work);
}

void run_pipeline_forward(collective& group, const pipeline_stage& st, int microbatches, pipeline_work& work) {
  check_group(group, st, microbatches);
  const int p = st.stages, s = st.stage, v = st.virtual_stages;
  neighbours nb{group, work, (s + 1) % p, (s - 1 + p) % p};
  const tensor none;
  for (int mb = 0; mb < microbatches; ++mb)
    for (int c = 0; c < v; ++c) {
      bool embedding = s == 0 && c == 0, loss = s == p - 1 && c == v - 1;
      tensor input = embedding ? tensor() : nb.communicate(none, none, true, false).forward;
      tensor output = work.forward(c, mb, input);
      if (!loss) nb.communicate(output, none, false, false);
    }
}

}  // namespace wb
