// Sub-groups on thread-ranks: the Megatron rank layout, and every collective of a sub_collective
// view (tp group, dp group of a 2 x 2 layout, and a 3-member ring) checked exactly against computed
// sums (small integers, so float sums are exact in any order).
#include <catch2/catch.hpp>

#include <thread>

#include "core/parallel/local_collective.hpp"
#include "core/parallel/rank_layout.hpp"
#include "core/parallel/sub_collective.hpp"

using namespace wb;

TEST_CASE("rank_layout orders tp innermost, then dp, then pp", "[parallel]") {
  rank_layout l = make_rank_layout(2, 3, 2, 12);
  // Megatron: rank = pp_i*dp*tp + dp_i*tp + tp_i
  REQUIRE(l.rank_of({1, 2, 1}) == 1 * 6 + 2 * 2 + 1);
  for (int r = 0; r < 12; ++r) REQUIRE(l.rank_of(l.coords(r)) == r);
  CHECK(l.tp_group(5) == std::vector<int>{4, 5});
  CHECK(l.dp_group(5) == std::vector<int>{1, 3, 5});
  CHECK(l.pp_group(5) == std::vector<int>{5, 11});
  CHECK_THROWS_WITH(make_rank_layout(2, 2, 1, 6), Catch::Contains("set parallel.dp to 3"));
}

TEST_CASE("sub_collective views of the tp and dp groups reduce, gather and broadcast exactly", "[parallel]") {
  const int world = 4;
  rank_layout l = make_rank_layout(2, 2, 1, world);
  local_collective_group g(world, std::chrono::seconds(20));
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        collective& c = g.member(r);
        sub_collective tp(c, l.tp_group(r), 100), dp(c, l.dp_group(r), 200);
        REQUIRE(tp.rank() == l.coords(r).tp);
        REQUIRE(dp.rank() == l.coords(r).dp);
        for (size_t n : {size_t(1), size_t(3), size_t(1001)}) {
          for (sub_collective* s : {&tp, &dp}) {
            std::vector<float> v(n), expect(n, 0);
            for (size_t i = 0; i < n; ++i) v[i] = float((r + 1) * int(i % 13 + 1));
            for (int m : s->members())
              for (size_t i = 0; i < n; ++i) expect[i] += float((m + 1) * int(i % 13 + 1));
            std::vector<float> rs = v;
            s->reduce_scatter_sum(rs.data(), n);
            chunk mine = chunk_range(n, s->world(), s->rank());
            for (size_t i = mine.begin; i < mine.begin + mine.size; ++i)
              if (rs[i] != expect[i]) throw std::runtime_error("reduce_scatter wrong at " + std::to_string(i));
            s->all_reduce_sum(v.data(), n);
            if (v != expect) throw std::runtime_error("all_reduce wrong, n=" + std::to_string(n));
            std::vector<float> gathered(n, -1);
            for (int k = 0; k < s->world(); ++k) {
              chunk ck = chunk_range(n, s->world(), k);
              if (k == s->rank())
                for (size_t i = ck.begin; i < ck.begin + ck.size; ++i) gathered[i] = float(k * 1000 + int(i));
            }
            s->all_gather(gathered.data(), n);
            for (int k = 0; k < s->world(); ++k) {
              chunk ck = chunk_range(n, s->world(), k);
              for (size_t i = ck.begin; i < ck.begin + ck.size; ++i)
                if (gathered[i] != float(k * 1000 + int(i))) throw std::runtime_error("all_gather wrong");
            }
            int32_t token = s->rank() == 1 ? 4242 + r : -1;
            s->broadcast(&token, sizeof token, 1);
            if (token != 4242 + s->members()[1]) throw std::runtime_error("broadcast wrong");
            s->barrier();
          }
        }
      } catch (const std::exception& e) {
        errors[size_t(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) {
    INFO("rank " << r);
    CHECK(errors[size_t(r)] == "");
  }
}

TEST_CASE("sub_collective runs an odd ring (3 of 4 ranks) while the fourth rank stays out", "[parallel]") {
  local_collective_group g(4, std::chrono::seconds(20));
  std::vector<float> result(4, 0);
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r)
    threads.emplace_back([&, r] {
      if (r == 2) return;  // not a member
      sub_collective s(g.member(r), {3, 0, 1}, 7);
      std::vector<float> v(5, float(r + 1));
      s.all_reduce_sum(v.data(), v.size());
      result[size_t(r)] = v[4];
    });
  for (auto& t : threads) t.join();
  CHECK(result == std::vector<float>{7, 7, 0, 7});  // (3+1) + (0+1) + (1+1)
}

TEST_CASE("sub_collective refuses a group without the calling rank", "[parallel]") {
  local_collective_group g(2);
  CHECK_THROWS_WITH(sub_collective(g.member(0), {1}, 0), Catch::Contains("not in"));
}
