// Embedding lookup (also used for learned positions): gathered rows, scattered gradients with
// repeated ids, and the out-of-range message.
#include <catch2/catch.hpp>

#include "tests/backends/cpu/grad_check.hpp"

using namespace wb;
using namespace wb::test;

TEST_CASE("embedding gathers rows and its gradient sums repeated ids", "[cpu][embedding][grad]") {
  cpu_backend be(2);
  tensor w = random_tensor({6, 4}, 1), ids = ids_tensor({2, 3}, {5, 0, 5, 2, 2, 5});
  tape tp(be, false);
  var y = embedding(tp, make_var(w), make_var(ids));
  REQUIRE(y->data.shape() == shape_t{2, 3, 4});
  CHECK(y->data.f32()[4 * 4 + 1] == w.f32()[2 * 4 + 1]);
  auto rel = grad_check(be, [](tape& t, const std::vector<var>& v) { return embedding(t, v[0], v[1]); }, {w, ids});
  CHECK(rel[0] < 1e-4);
}

TEST_CASE("embedding rejects an id outside the table", "[cpu][embedding]") {
  cpu_backend be(1);
  tape tp(be);
  CHECK_THROWS_WITH(embedding(tp, make_var(random_tensor({6, 4}, 1)), make_var(ids_tensor({2}, {1, 6}))),
                    "Invalid embedding id 6: expected 0 to 5");
}
