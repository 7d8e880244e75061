// The one exception of the data layer: a message that names the file (and where useful the line
// or byte offset) and says what to do. Commands print it as it is and exit 1.
#pragma once
#include <stdexcept>
#include <string>

namespace wb {

struct data_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace wb
