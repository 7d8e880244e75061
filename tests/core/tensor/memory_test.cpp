// The memory accountant: live and peak bytes per category and overall follow real allocations.
#include <catch2/catch.hpp>

#include "core/tensor/tensor.hpp"

using namespace wb;

TEST_CASE("allocations are charged to their category and released with their last view", "[memory]") {
  auto before = memory().category(mem_category::optimizer_state).live;
  auto total_before = memory().total().live;
  {
    tensor a({1000}, mem_category::optimizer_state);
    tensor view = a.reshape({10, 100});
    CHECK(memory().category(mem_category::optimizer_state).live == before + 4000);
    CHECK(memory().total().live == total_before + 4000);
    a = tensor();
    CHECK(memory().category(mem_category::optimizer_state).live == before + 4000);  // view keeps it
  }
  CHECK(memory().category(mem_category::optimizer_state).live == before);
}

TEST_CASE("peaks record the high-water mark until reset", "[memory]") {
  memory().reset_peaks();
  auto base = memory().category(mem_category::activations).live;
  {
    tensor a({2000}, mem_category::activations);
    { tensor b({500}, mem_category::activations, dtype::bf16); }
  }
  CHECK(memory().category(mem_category::activations).peak == base + 8000 + 1000);
  CHECK(memory().category(mem_category::activations).live == base);
  memory().reset_peaks();
  CHECK(memory().category(mem_category::activations).peak == base);
  CHECK(std::string(mem_category_name(mem_category::optimizer_state)) == "optimizer_state");
}
