// Sub-groups between real processes: four fabric ranks laid out tp=2 x dp=2 build sub_collective
// views of their tp and dp groups and all-reduce, all-gather and broadcast in both, interleaved;
// every value is a small integer, so the sums are checked exactly. Then the dp group on a channel
// of its own (open_channel), driven by a second thread while the first all-reduces over tp.
#include <catch2/catch.hpp>

#include <thread>

#include <fmt/format.h>

#include "core/parallel/rank_layout.hpp"
#include "core/parallel/sub_collective.hpp"
#include "tests/backends/fabric/rank_processes.hpp"

using namespace wb;
using wb::test::rank_processes;

TEST_CASE("tp and dp sub-groups of four fabric ranks reduce, gather and broadcast exactly", "[fabric][parallel]") {
  std::string provider = GENERATE("shm", "tcp");
  rank_processes ranks(4, test::loopback_options(provider), [](fabric_collective& c) {
    rank_layout l = make_rank_layout(2, 2, 1, c.world());
    sub_collective tp(c, l.tp_group(c.rank()), 100), dp(c, l.dp_group(c.rank()), 200);
    for (size_t n : {size_t(1), size_t(7), size_t(70001)}) {
      for (sub_collective* s : {&tp, &dp, &tp}) {
        std::vector<float> v(n), expect(n, 0);
        for (size_t i = 0; i < n; ++i) v[i] = float((c.rank() + 1) * int(i % 31 + 1));
        for (int m : s->members())
          for (size_t i = 0; i < n; ++i) expect[i] += float((m + 1) * int(i % 31 + 1));
        s->all_reduce_sum(v.data(), n);
        for (size_t i = 0; i < n; ++i)
          if (v[i] != expect[i]) throw std::runtime_error(fmt::format("all_reduce n={} i={}: {} != {}", n, i, v[i], expect[i]));
        std::vector<float> gathered(n, -1);
        chunk mine = chunk_range(n, s->world(), s->rank());
        for (size_t i = mine.begin; i < mine.begin + mine.size; ++i) gathered[i] = float(c.rank());
        s->all_gather(gathered.data(), n);
        for (int k = 0; k < s->world(); ++k) {
          chunk ck = chunk_range(n, s->world(), k);
          for (size_t i = ck.begin; i < ck.begin + ck.size; ++i)
            if (gathered[i] != float(s->members()[size_t(k)])) throw std::runtime_error("all_gather wrong");
        }
        int32_t token = s->rank() == 0 ? 100 + c.rank() : -1;
        s->broadcast(&token, sizeof token, 0);
        if (token != 100 + s->members()[0]) throw std::runtime_error("broadcast wrong");
      }
    }
  });
  auto out = ranks.wait_all(120);
  for (int r = 0; r < 4; ++r) {
    INFO("rank " << r << " over " << provider << ": " << out[size_t(r)].message);
    CHECK(out[size_t(r)].exit_code == 0);
  }
}

TEST_CASE("a channel of its own carries the dp group on another thread while tp all-reduces on this one",
          "[fabric][parallel][channel]") {
  // The trainer's comm thread reduces gradients over data parallel while backward runs tensor
  // parallel's all-reduces: two threads, two endpoints, each group's sums exact.
  std::string provider = GENERATE("shm", "tcp");
  rank_processes ranks(4, test::loopback_options(provider), [](fabric_collective& c) {
    rank_layout l = make_rank_layout(2, 2, 1, c.world());
    std::unique_ptr<collective> channel = c.open_channel();
    if (!channel || channel->world() != 4 || channel->rank() != c.rank()) throw std::runtime_error("open_channel: no channel");
    sub_collective tp(c, l.tp_group(c.rank()), 100), dp(*channel, l.dp_group(c.rank()), 200);
    auto check_rounds = [&](sub_collective& s, size_t n, int rounds, const char* what) {
      for (int k = 0; k < rounds; ++k) {
        std::vector<float> v(n), expect(n, 0);
        for (size_t i = 0; i < n; ++i) v[i] = float((c.rank() + 1) * int((i + size_t(k)) % 29 + 1));
        for (int m : s.members())
          for (size_t i = 0; i < n; ++i) expect[i] += float((m + 1) * int((i + size_t(k)) % 29 + 1));
        s.all_reduce_sum(v.data(), n);
        for (size_t i = 0; i < n; ++i)
          if (v[i] != expect[i]) throw std::runtime_error(fmt::format("{} round {} i={}: {} != {}", what, k, i, v[i], expect[i]));
      }
    };
    std::string dp_error;
    std::thread comm([&] {
      try {
        check_rounds(dp, 300001, 20, "dp on the channel");
      } catch (const std::exception& e) {
        dp_error = e.what();
      }
    });
    check_rounds(tp, 70001, 60, "tp on the first endpoint");
    comm.join();
    if (!dp_error.empty()) throw std::runtime_error(dp_error);
  });
  auto out = ranks.wait_all(120);
  for (int r = 0; r < 4; ++r) {
    INFO("rank " << r << " over " << provider << ": " << out[size_t(r)].message);
    CHECK(out[size_t(r)].exit_code == 0);
  }
}
