// tokenizer_fingerprint: sha256 over a canonical text that fixes every choice encoding depends on,
// so two tokenizer.json files that encode identically (key order, merge format, whitespace aside)
// share it. Definition in docs/tokenizer.md, "Fingerprint".
#include <fmt/format.h>

#include "core/tokenizer/tokenizer.hpp"
#include "core/util/sha256.hpp"

namespace wb {
namespace {

std::string hex(std::string_view s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}

}  // namespace

std::string tokenizer_fingerprint(const tokenizer& t) {
  sha256 h;
  h.update(fmt::format("wb-tokenizer-fingerprint v1\npattern {}\nadd_prefix_space {}\nignore_merges {}\n",
                       split_pattern_name(t.pattern), int(t.add_prefix_space), int(t.ignore_merges)));
  for (size_t id = 0; id < t.tokens.size(); ++id)
    if (!t.is_added[id] && !t.tokens[id].empty()) h.update(fmt::format("vocab {} {}\n", id, hex(t.tokens[id])));
  for (auto& m : t.merges) h.update(fmt::format("merge {} {}\n", m.left, m.right));
  for (auto& a : t.added) h.update(fmt::format("added {} {} {}\n", a.id, int(a.special), hex(a.content)));
  return h.hex_digest();
}

}  // namespace wb
