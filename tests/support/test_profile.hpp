// Test support: the measured device profile that plans for instance "local" need, kept beside the
// wb binary so that the test run measures this machine once rather than once per test, and never
// writes into the user's ~/.cache.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

namespace wb::test {

inline std::string test_profile_path() {
  return (std::filesystem::path(WB_BINARY).parent_path() / "test-device-profile.json").string();
}

// Points this process (and the programs it starts) at it.
inline void use_test_profile() { setenv("WB_PROFILE", test_profile_path().c_str(), 1); }

}  // namespace wb::test
