// Line-buffered JSON Lines writer.
#include "core/run/metrics_log.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wb {

metrics_log::metrics_log(const std::string& path) {
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) throw std::runtime_error(path + ": cannot open for writing: " + std::strerror(errno));
}

metrics_log::~metrics_log() {
  if (f_) std::fclose(f_);
}

void metrics_log::write(const nlohmann::ordered_json& record) {
  std::string line = record.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

}  // namespace wb
