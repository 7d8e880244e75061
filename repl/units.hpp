// How the REPL prints quantities: bytes in binary units (MiB, GiB), seconds, durations, so that a
// sweep row and a probe line read the same way.
#pragma once
#include <string>

namespace wb {

std::string bytes_text(double bytes);      // "512 B", "15.3 MiB", "71.2 GiB"
std::string seconds_text(double s);        // "812 us", "52.1 ms", "1.25 s"
std::string duration_text(double s);       // "45 s", "12 min", "3.4 h", "34.1 days"
std::string percent_error(double predicted, double measured);  // "+3.1%": (predicted - measured) / measured

}  // namespace wb
