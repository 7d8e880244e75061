// comm_thread: a mutex-guarded queue and one worker.
#include "core/parallel/comm_thread.hpp"

namespace wb {

comm_thread::comm_thread() : accountant_(&memory()), thread_([this] { loop(); }) {}

comm_thread::~comm_thread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t comm_thread::post(std::function<void()> job) {
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ticket = ++posted_;
    if (error_) return ticket;  // the queue stopped; wait() and wait_for() report why
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
  return ticket;
}

void comm_thread::wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return jobs_.empty() && !running_; });
  if (error_) std::rethrow_exception(error_);
}

void comm_thread::wait_for(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this, ticket] { return finished_ >= ticket || error_; });
  if (error_) std::rethrow_exception(error_);
}

void comm_thread::abandon() {
  std::unique_lock<std::mutex> lock(mu_);
  jobs_.clear();
  cv_.wait(lock, [this] { return !running_; });
  finished_ = posted_;
  error_ = nullptr;
}

void comm_thread::loop() {
  memory_scope scope(*accountant_);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
    if (stop_) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    running_ = true;
    lock.unlock();
    std::exception_ptr failed;
    try {
      job();
    } catch (...) {
      failed = std::current_exception();
    }
    job = nullptr;  // release what the job held (a bucket's tensor) before waking wait()
    lock.lock();
    running_ = false;
    ++finished_;
    if (failed && !error_) error_ = failed, jobs_.clear();
    cv_.notify_all();
  }
}

}  // namespace wb
