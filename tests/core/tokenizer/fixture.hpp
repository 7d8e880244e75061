// A tiny byte-level BPE tokenizer.json for the tokenizer tests, built here rather than stored:
//   ids 0..255  the byte tokens, id = byte value
//   merges      0 "Ġ t"->256 "Ġt", 1 "h e"->257 "he", 2 "Ġt he"->258 "Ġthe", 3 "l l"->259 "ll", 4 "e ll"->260 "ell"
//   263         "hello", in the vocabulary but not reachable by merges (for ignore_merges)
//   264         "<|end|>" (special), 265 "<sep>" (added, not special)
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "core/tokenizer/byte_level.hpp"
#include "core/tokenizer/pretokenizer.hpp"

inline nlohmann::ordered_json fixture_tokenizer_json(bool array_merges = false, bool ignore_merges = false) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int b = 0; b < 256; ++b) vocab[wb::byte_level_encode(std::string(1, char(b)))] = b;
  vocab["Ġt"] = 256, vocab["he"] = 257, vocab["Ġthe"] = 258, vocab["ll"] = 259, vocab["ell"] = 260, vocab["hello"] = 263;
  const char* pairs[][2] = {{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"l", "l"}, {"e", "ll"}};
  nlohmann::ordered_json merges = nlohmann::ordered_json::array();
  for (auto& p : pairs)
    merges.push_back(array_merges ? nlohmann::ordered_json{p[0], p[1]} : nlohmann::ordered_json(std::string(p[0]) + " " + p[1]));
  nlohmann::ordered_json j;
  j["added_tokens"] = {{{"id", 264}, {"content", "<|end|>"}, {"special", true}},
                       {{"id", 265}, {"content", "<sep>"}, {"special", false}}};
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"}, {"pattern", {{"Regex", wb::llama3_split_regex}}}, {"behavior", "Isolated"}, {"invert", false}},
                          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  j["decoder"] = {{"type", "ByteLevel"}};
  j["model"] = {{"type", "BPE"}, {"ignore_merges", ignore_merges}, {"vocab", vocab}, {"merges", merges}};
  return j;
}
