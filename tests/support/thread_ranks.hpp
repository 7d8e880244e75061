// Test support: one thread per rank of a local_collective_group, each running body(rank); what a
// rank throws is kept as its error message, so one rank's failure (which shows as a timeout on the
// others) is reported with every rank's message instead of ending the test process.
#pragma once
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "core/parallel/local_collective.hpp"

namespace wb::test {

// errors[r] is "" when rank r's body returned.
template <class Body>
std::vector<std::string> run_on_thread_ranks(local_collective_group& g, Body body) {
  std::vector<std::string> errors(static_cast<size_t>(g.world()));
  std::vector<std::thread> threads;
  for (int r = 0; r < g.world(); ++r)
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (const std::exception& e) {
        errors[size_t(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace wb::test
