// local_collective_group: the in-process collective that unit tests of collective users rely on.
#include <catch2/catch.hpp>

#include <functional>
#include <thread>

#include "core/parallel/local_collective.hpp"

using namespace wb;

namespace {

void on_threads(local_collective_group& g, const std::function<void(collective&)>& body) {
  std::vector<std::thread> threads;
  for (int r = 0; r < g.world(); ++r) threads.emplace_back([&, r] { body(g.member(r)); });
  for (auto& t : threads) t.join();
}

}  // namespace

TEST_CASE("chunk_range splits any size over the ranks, the first n % world chunks one larger", "[parallel]") {
  CHECK(chunk_range(10, 4, 0).begin == 0);
  CHECK(chunk_range(10, 4, 0).size == 3);
  CHECK(chunk_range(10, 4, 1).begin == 3);
  CHECK(chunk_range(10, 4, 1).size == 3);
  CHECK(chunk_range(10, 4, 2).begin == 6);
  CHECK(chunk_range(10, 4, 2).size == 2);
  CHECK(chunk_range(10, 4, 3).begin == 8);
  CHECK(chunk_range(10, 4, 3).size == 2);
  CHECK(chunk_range(2, 4, 3).size == 0);
  CHECK(chunk_range(2, 4, 3).begin == 2);
}

TEST_CASE("local collectives give every thread-rank the exact sum, its chunk, the gathered data and the root's bytes", "[parallel]") {
  int world = GENERATE(1, 2, 3, 4);
  local_collective_group g(world);
  const size_t n = 11;
  std::vector<std::vector<float>> reduced(static_cast<size_t>(world)), scattered(static_cast<size_t>(world)), gathered(static_cast<size_t>(world));
  std::vector<std::vector<int>> bcast(static_cast<size_t>(world));
  on_threads(g, [&](collective& c) {
    int r = c.rank();
    std::vector<float> v(n), s(n), a(n, -1.0f);
    for (size_t i = 0; i < n; ++i) v[i] = s[i] = float((r + 1) * int(i + 1));
    c.all_reduce_sum(v.data(), n);
    c.reduce_scatter_sum(s.data(), n);
    chunk mine = chunk_range(n, c.world(), r);
    for (size_t i = mine.begin; i < mine.begin + mine.size; ++i) a[i] = float(r * 100 + int(i));
    c.all_gather(a.data(), n);
    std::vector<int> b(5, r == world - 1 ? 42 : 0);
    c.broadcast(b.data(), b.size() * sizeof(int), world - 1);
    c.barrier();
    reduced[size_t(r)] = v, scattered[size_t(r)] = s, gathered[size_t(r)] = a, bcast[size_t(r)] = b;
  });
  for (int r = 0; r < world; ++r) {
    chunk mine = chunk_range(n, world, r);
    for (size_t i = 0; i < n; ++i) {
      CHECK(reduced[size_t(r)][i] == float(world * (world + 1) / 2 * int(i + 1)));
      if (i >= mine.begin && i < mine.begin + mine.size) CHECK(scattered[size_t(r)][i] == float(world * (world + 1) / 2 * int(i + 1)));
      int owner = 0;
      while (!(i >= chunk_range(n, world, owner).begin && i < chunk_range(n, world, owner).begin + chunk_range(n, world, owner).size)) ++owner;
      CHECK(gathered[size_t(r)][i] == float(owner * 100 + int(i)));
    }
    CHECK(bcast[size_t(r)] == std::vector<int>(5, 42));
  }
}

TEST_CASE("local send and recv deliver messages per tag in order", "[parallel]") {
  local_collective_group g(2);
  std::vector<int> got(3);
  on_threads(g, [&](collective& c) {
    if (c.rank() == 0) {
      int a = 1, b = 2, t = 3;
      c.send(&a, sizeof a, 1, 5);
      c.send(&b, sizeof b, 1, 5);
      c.send(&t, sizeof t, 1, 9);
    } else {
      c.recv(&got[2], sizeof(int), 0, 9);
      c.recv(&got[0], sizeof(int), 0, 5);
      c.recv(&got[1], sizeof(int), 0, 5);
    }
  });
  CHECK(got == std::vector<int>{1, 2, 3});
}

TEST_CASE("a local collective with a missing rank fails naming it instead of hanging", "[parallel]") {
  local_collective_group g(3, std::chrono::milliseconds(200));
  std::string error0, error1;
  std::thread t0([&] {
    try {
      g.member(0).barrier();
    } catch (const collective_error& e) {
      error0 = e.what();
    }
  });
  std::thread t1([&] {
    try {
      g.member(1).barrier();
    } catch (const collective_error& e) {
      error1 = e.what();
    }
  });
  t0.join();
  t1.join();
  CHECK_THAT(error0, Catch::StartsWith("rank 2 did not reach the collective within 200 ms"));
  CHECK_THAT(error1, Catch::StartsWith("rank 2 did not reach the collective within 200 ms"));
}

TEST_CASE("a group of one rank is the identity and has no peers", "[parallel]") {
  single_rank_collective c;
  float v[2] = {1, 2};
  c.all_reduce_sum(v, 2);
  CHECK(v[1] == 2);
  int x = 0;
  CHECK_THROWS_WITH(c.send(&x, 4, 1, 0), "rank 1 does not exist in a group of one rank");
}
