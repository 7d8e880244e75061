// Environment parsing for fabric_options: every malformed value is an error that names the variable.
#include "backends/fabric/fabric_options.hpp"

#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

namespace wb {
namespace {

double env_seconds(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (*end || !(d > 0))
    throw std::invalid_argument(fmt::format("Invalid {}={}: expected a positive number of seconds", name, v));
  return d;
}

long env_integer(const char* name, long fallback, long lo, long hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long l = std::strtol(v, &end, 10);
  if (*end || l < lo || l > hi)
    throw std::invalid_argument(fmt::format("Invalid {}={}: expected an integer from {} to {}", name, v, lo, hi));
  return l;
}

}  // namespace

fabric_options fabric_options_from_env(fabric_options o) {
  if (const char* p = std::getenv("FI_PROVIDER"); p && *p) o.provider = p;
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) o.master_addr = a;
  o.master_port = int(env_integer("MASTER_PORT", o.master_port, 1, 65535));
  o.listen_fd = int(env_integer("WB_FABRIC_LISTEN_FD", o.listen_fd, 0, 1 << 20));
  o.timeout_s = env_seconds("WB_FABRIC_TIMEOUT", o.timeout_s);
  o.op_timeout_s = env_seconds("WB_FABRIC_OP_TIMEOUT", o.op_timeout_s);
  o.bootstrap_timeout_s = env_seconds("WB_FABRIC_BOOTSTRAP_TIMEOUT", o.bootstrap_timeout_s);
  o.slice_bytes = size_t(env_integer("WB_FABRIC_SLICE_BYTES", long(o.slice_bytes), 4096, 1L << 30));
  if (const char* a = std::getenv("WB_FABRIC_ALGORITHM"); a && *a) {
    std::string v = a;
    if (v != "auto" && v != "ring" && v != "halving_doubling" && v != "one_sided")
      throw std::invalid_argument(fmt::format("Invalid WB_FABRIC_ALGORITHM={}: expected auto, ring, halving_doubling or one_sided", v));
    o.algorithm = v;
  }
  return o;
}

std::string fabric_provider_name(const std::string& provider) {
  return provider == "tcp" ? "tcp;ofi_rxm" : provider;
}

}  // namespace wb
