// comm_thread: jobs run in posting order on another thread, wait() returns when all ran, and a
// failed job's collective_error (type, message and rank) comes back from wait() while the jobs
// posted after it are dropped. A job's buffers count against its maker's accountant.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "core/parallel/collective.hpp"
#include "core/parallel/comm_thread.hpp"
#include "core/tensor/memory.hpp"

using namespace wb;

TEST_CASE("comm_thread runs jobs in posting order on a thread of its own", "[parallel][overlap]") {
  comm_thread c;
  std::vector<int> order;  // written by the comm thread only, read after wait()
  std::thread::id ran_on;
  for (int i = 0; i < 50; ++i)
    c.post([&order, &ran_on, i] { order.push_back(i), ran_on = std::this_thread::get_id(); });
  c.wait();
  REQUIRE(order.size() == 50);
  for (int i = 0; i < 50; ++i) CHECK(order[size_t(i)] == i);
  CHECK(ran_on != std::this_thread::get_id());
}

TEST_CASE("comm_thread hands a job's collective_error to wait() and drops the later jobs", "[parallel][overlap]") {
  comm_thread c;
  std::atomic<int> after{0};
  c.post([] { throw collective_error("rank 1 stopped responding (no heartbeat for 30 s)", 1); });
  c.post([&after] { ++after; });
  int rank = -2;
  std::string what;
  try {
    c.wait();
  } catch (const collective_error& e) {
    rank = e.rank, what = e.what();
  }
  CHECK(rank == 1);
  CHECK(what == "rank 1 stopped responding (no heartbeat for 30 s)");
  CHECK(after == 0);
  CHECK_THROWS_AS(c.wait(), collective_error);  // the collective stays broken
  c.post([&after] { ++after; });
  CHECK_THROWS_AS(c.wait(), collective_error);
  CHECK(after == 0);
}

TEST_CASE("comm_thread abandon drops the queue and forgets the outcome", "[parallel][overlap]") {
  comm_thread c;
  c.post([] { throw collective_error("deadline", 0); });
  c.abandon();
  int ran = 0;
  c.post([&ran] { ++ran; });
  c.wait();
  CHECK(ran == 1);
}

TEST_CASE("comm_thread wait_for returns once the ticket's job ran, before the jobs posted after it", "[parallel][overlap]") {
  comm_thread c;
  std::atomic<int> done{0};
  std::atomic<bool> release{false};
  uint64_t first = c.post([&done] { ++done; });
  uint64_t blocked = c.post([&done, &release] {
    while (!release) std::this_thread::yield();
    ++done;
  });
  CHECK(first == 1);
  CHECK(blocked == 2);
  c.wait_for(0);  // no job
  c.wait_for(first);
  CHECK(done == 1);  // the second job is still held
  release = true;
  c.wait_for(blocked);
  CHECK(done == 2);
  uint64_t failing = c.post([] { throw collective_error("rank 1 stopped responding", 1); });
  CHECK_THROWS_AS(c.wait_for(failing), collective_error);
}

TEST_CASE("comm_thread charges a job's buffers to the accountant of the thread that made it", "[parallel][overlap][memory]") {
  // A thread-rank test's rank (memory_scope) must see its comm thread's temporaries (a ring's
  // receive buffer) in its own peak, as a rank process does.
  memory_accountant rank;
  size_t process_peak_before = memory().total().peak;
  std::thread rank_thread([&] {
    memory_scope scope(rank);
    comm_thread c;
    c.post([] { buffer b(size_t(3) << 20, mem_category::temporaries); });
    c.wait();
  });
  rank_thread.join();
  CHECK(rank.category(mem_category::temporaries).peak == size_t(3) << 20);
  CHECK(rank.total().live == 0);
  CHECK(memory().total().peak == process_peak_before);
}
