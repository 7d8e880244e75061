// The merge lookup on the encode hot path: (left id, right id) -> (rank, result id), an
// open-addressing hash table at most half full, one cache line per probe. It replaced a
// std::unordered_map that took a quarter of encode time on Llama 3's 280k merges.
#pragma once
#include <cstdint>
#include <vector>

namespace wb {

struct bpe_merge;

class merge_table {
 public:
  // Rank = index in `merges`; when a pair repeats, its first (lowest) rank is kept, as in HF tokenizers.
  void build(const std::vector<bpe_merge>& merges);

  bool find(int32_t left, int32_t right, uint32_t& rank, int32_t& result) const {
    if (slots_.empty()) return false;
    uint64_t key = pack(left, right);
    for (uint64_t i = hash(key);; i = (i + 1) & mask_) {
      const slot& s = slots_[i];
      if (s.key == key) {
        rank = s.rank, result = s.result;
        return true;
      }
      if (s.key == empty) return false;
    }
  }

 private:
  static constexpr uint64_t empty = ~0ull;
  struct slot {
    uint64_t key;
    uint32_t rank;
    int32_t result;
  };
  static uint64_t pack(int32_t a, int32_t b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); }
  // Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4): the golden-ratio multiplier spreads consecutive ids.
  uint64_t hash(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }

  std::vector<slot> slots_;
  uint64_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace wb
