// pipeline_stage_error and which parameters a stage holds.
#include "core/model/pipeline_stage.hpp"

#include <fmt/format.h>

namespace wb {

std::string pipeline_stage_error(int layers, int stages, int virtual_stages) {
  if (stages < 1 || virtual_stages < 1)
    return fmt::format("parallel.pp ({}) and parallel.virtual_stages ({}) must be at least 1", stages, virtual_stages);
  if (virtual_stages > 1 && stages == 1) return "parallel.virtual_stages > 1 needs pipeline parallelism (parallel.pp > 1)";
  if (layers % (stages * virtual_stages))
    return fmt::format("parallel.pp x parallel.virtual_stages ({} x {}) must divide model.layers ({}); choose a pp that "
                       "divides {}", stages, virtual_stages, layers, layers);
  return "";
}

}  // namespace wb
