// RUN_DIR/metrics.jsonl: one JSON object per line, flushed as written so a crashed or killed run
// keeps every step it finished.
#pragma once
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace wb {

class metrics_log {
 public:
  explicit metrics_log(const std::string& path);  // appends; throws std::runtime_error
  ~metrics_log();
  metrics_log(const metrics_log&) = delete;
  metrics_log& operator=(const metrics_log&) = delete;
  void write(const nlohmann::ordered_json& record);

 private:
  std::FILE* f_ = nullptr;
};

}  // namespace wb
