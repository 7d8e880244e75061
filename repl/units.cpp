// Quantities as the REPL prints them; see units.hpp.
#include "repl/units.hpp"

#include <cmath>
#include <fmt/format.h>

namespace wb {

std::string bytes_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(bytes) >= 1024 && u < 4) bytes /= 1024, ++u;
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string seconds_text(double s) {
  if (!std::isfinite(s)) return "?";
  if (s < 1e-3) return fmt::format("{:.0f} us", s * 1e6);
  if (s < 1) return fmt::format("{:.1f} ms", s * 1e3);
  return fmt::format("{:.3g} s", s);
}

std::string duration_text(double s) {
  if (!std::isfinite(s)) return "?";
  if (s < 60) return fmt::format("{:.0f} s", s);
  if (s < 3600) return fmt::format("{:.0f} min", s / 60);
  if (s < 86400 * 2) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

std::string percent_error(double predicted, double measured) {
  if (measured == 0) return predicted == 0 ? "0%" : "-";
  return fmt::format("{:+.1f}%", 100 * (predicted - measured) / measured);
}

}  // namespace wb
