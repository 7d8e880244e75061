// One thread that runs collectives in the order they were posted, so the main thread can go on with
// backward while a gradient bucket is reduced (PyTorch DDP's reducer and Megatron-LM's distributed
// optimizer hand their bucket collectives to a communication stream the same way). Jobs run one at a
// time, in posting order, so every rank issues the same collectives in the same order. A job that
// throws (a collective_error naming a dead or stopped peer, a deadline) stops the queue: the jobs
// after it are dropped and wait() rethrows the same exception, same type and rank, on the caller.
//
// A job's buffers are charged to the accountant of the thread that made the comm_thread (memory()):
// in a thread-rank test that is the rank's, as a rank process charges its comm thread's to its own.
//
// The caller must make no call on the collective the jobs use until wait() returns: a collective
// (fabric_collective, local_collective member) serves one thread at a time.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "core/tensor/memory.hpp"

namespace wb {

class comm_thread {
 public:
  comm_thread();
  // Drops the jobs not yet started and waits for the running one (a collective ends or fails within
  // its own deadline).
  ~comm_thread();
  comm_thread(const comm_thread&) = delete;
  comm_thread& operator=(const comm_thread&) = delete;

  // Runs job after every job posted before it. Returns its ticket: 1 for the first job posted,
  // then 2, 3, ... (0 is never a ticket, so callers can use it for "none").
  uint64_t post(std::function<void()> job);
  // Returns when every posted job has run; rethrows the first job's exception if one failed (and
  // again on every later call: after a failure the collective is unusable).
  void wait();
  // Returns when the job with this ticket (and so every job before it) has run; rethrows as wait()
  // does if a job failed. Ticket 0 returns at once.
  void wait_for(uint64_t ticket);
  // After the caller failed mid-step: drops the jobs not yet started, waits for the running one and
  // forgets its outcome, so the caller's own error is the one reported.
  void abandon();

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  uint64_t posted_ = 0, finished_ = 0;  // tickets handed out; jobs run (or dropped by abandon)
  bool running_ = false, stop_ = false;
  std::exception_ptr error_;
  memory_accountant* accountant_;
  std::thread thread_;  // last: started once the rest is initialised
};

}  // namespace wb
