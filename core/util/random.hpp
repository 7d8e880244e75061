// Deterministic randomness keyed by seed and position, so that any sample of any epoch can be
// recomputed on resume without replaying a generator. splitmix64 (Steele, Lea, Flood 2014) mixes.
#pragma once
#include <cstdint>
#include <vector>

namespace wb {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A hash of several 64-bit keys: hash_keys(seed, source, epoch).
inline uint64_t hash_keys(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0) {
  return splitmix64(splitmix64(splitmix64(splitmix64(a) ^ b) ^ c) ^ d);
}

// A uniform double in [0, 1) from a 64-bit hash (53 significant bits).
inline double unit_interval(uint64_t h) { return double(h >> 11) * 0x1.0p-53; }

// A sequential generator for shuffles: splitmix64 over a counter.
class rng64 {
 public:
  explicit rng64(uint64_t seed) : state_(seed) {}
  uint64_t next() { return splitmix64(state_++); }
  // Uniform in [0, n) by Lemire's multiply-shift (bias below 2^-64 * n, negligible here).
  uint64_t below(uint64_t n) { return uint64_t((unsigned __int128)next() * n >> 64); }

 private:
  uint64_t state_;
};

// Fisher-Yates permutation of 0..n-1.
std::vector<uint32_t> random_permutation(uint32_t n, uint64_t seed);

}  // namespace wb
