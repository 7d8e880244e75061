// How the REPL prints quantities.
#include <catch2/catch.hpp>

#include "repl/units.hpp"

using namespace wb;

TEST_CASE("bytes, seconds, durations and errors read as a person writes them", "[repl][units]") {
  CHECK(bytes_text(512) == "512 B");
  CHECK(bytes_text(15.3 * 1024 * 1024) == "15.3 MiB");
  CHECK(bytes_text(80.0 * 1024 * 1024 * 1024) == "80.0 GiB");
  CHECK(seconds_text(0.000812) == "812 us");
  CHECK(seconds_text(0.0521) == "52.1 ms");
  CHECK(seconds_text(1.25) == "1.25 s");
  CHECK(duration_text(45) == "45 s");
  CHECK(duration_text(720) == "12 min");
  CHECK(duration_text(3.4 * 3600) == "3.4 h");
  CHECK(duration_text(34.1 * 86400) == "34.1 days");
  CHECK(percent_error(103.1, 100) == "+3.1%");
  CHECK(percent_error(0, 0) == "0%");
  CHECK(percent_error(1, 0) == "-");
}
