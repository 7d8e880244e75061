// merge_table::build: size the table to a power of two at least twice the merges, insert by rank.
#include "core/tokenizer/merge_table.hpp"

#include "core/tokenizer/tokenizer.hpp"

namespace wb {

void merge_table::build(const std::vector<bpe_merge>& merges) {
  int bits = 4;
  while ((size_t(1) << bits) < merges.size() * 2) ++bits;
  slots_.assign(size_t(1) << bits, slot{empty, 0, 0});
  mask_ = (uint64_t(1) << bits) - 1;
  shift_ = 64 - bits;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    uint64_t key = pack(merges[rank].left, merges[rank].right);
    for (uint64_t i = hash(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) break;  // a repeated pair keeps its first rank
      if (slots_[i].key == empty) {
        slots_[i] = {key, uint32_t(rank), merges[rank].result};
        break;
      }
    }
  }
}

}  // namespace wb
