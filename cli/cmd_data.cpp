// `wb data encode|decode|tokenizer-train`: token ids from text and back with a HF tokenizer.json,
// and training a byte-level BPE tokenizer. Input is FILE or stdin; by default each line is one
// document (its newline is not encoded); --text makes the whole input one document.
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.hpp"
#include "cli/data_commands.hpp"
#include "core/tokenizer/bpe_encoder.hpp"
#include "core/tokenizer/tokenizer_json.hpp"
#include "core/tokenizer/tokenizer_train.hpp"

namespace wb {
namespace {

struct data_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string read_input(const std::string& path) {
  if (path.empty() || path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data_error(fmt::format("{}: cannot read the input file", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Lines without their '\n'; a final line without '\n' counts, an empty input has no lines.
std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> lines;
  for (size_t i = 0; i < s.size();) {
    size_t e = s.find('\n', i);
    if (e == std::string_view::npos) e = s.size();
    lines.push_back(s.substr(i, e - i));
    i = e + 1;
  }
  return lines;
}

struct encode_args {
  std::string tokenizer, input;
  bool text = false, jsonl = false, no_special = false;
};

int run_encode(const encode_args& a) {
  tokenizer tok = tokenizer_load(a.tokenizer);
  std::string input = read_input(a.input);
  std::string name = a.input.empty() ? "<stdin>" : a.input;
  std::vector<std::string> jsonl_docs;
  std::vector<std::string_view> docs;
  if (a.text) {
    docs.push_back(input);
  } else {
    docs = split_lines(input);
    if (a.jsonl) {
      for (size_t i = 0; i < docs.size(); ++i) {
        try {
          jsonl_docs.push_back(nlohmann::json::parse(docs[i]).get<std::string>());
        } catch (const nlohmann::json::exception& e) {
          throw data_error(fmt::format("{}:{}: expected a JSON string per line (--jsonl): {}", name, i + 1, e.what()));
        }
      }
      docs.assign(jsonl_docs.begin(), jsonl_docs.end());
    }
  }
  bpe_encoder enc(tok);
  std::vector<int32_t> ids;
  std::string out;
  for (size_t i = 0; i < docs.size(); ++i) {
    ids.clear();
    auto r = enc.encode(docs[i], ids, !a.no_special);
    if (r.invalid_utf8_bytes)
      fmt::print(stderr, "wb: {}:{}: {} bytes of invalid UTF-8 encoded as raw byte tokens (docs/tokenizer.md)\n", name,
                 a.text ? 1 : i + 1, r.invalid_utf8_bytes);
    for (size_t k = 0; k < ids.size(); ++k) {
      if (k) out += ' ';
      out += std::to_string(ids[k]);
    }
    out += '\n';
    if (out.size() > (1 << 20)) std::fwrite(out.data(), 1, out.size(), stdout), out.clear();
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_decode(const std::string& tok_path, const std::string& input_path) {
  tokenizer tok = tokenizer_load(tok_path);
  std::string input = read_input(input_path);
  std::string name = input_path.empty() ? "<stdin>" : input_path;
  auto lines = split_lines(input);
  std::string out;
  std::vector<int32_t> ids;
  for (size_t i = 0; i < lines.size(); ++i) {
    ids.clear();
    std::istringstream ls{std::string(lines[i])};
    std::string word;
    while (ls >> word) {
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(word, &used);
      } catch (const std::exception&) {
      }
      if (used != word.size() || id < 0 || id >= (long long)tok.vocab_size())
        throw data_error(fmt::format("{}:{}: Invalid token id '{}': expected a number from 0 to {} (the vocabulary of {})",
                                     name, i + 1, word, tok.vocab_size() - 1, tok_path));
      ids.push_back(int32_t(id));
    }
    try {
      out += tokenizer_decode(tok, ids);
    } catch (const tokenizer_error& e) {
      throw data_error(fmt::format("{}:{}: {}", name, i + 1, e.what()));
    }
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

struct train_args {
  std::vector<std::string> inputs, specials;
  std::string out;
  size_t vocab = 0;
};

int run_train(const train_args& a) {
  tokenizer_train_options o;
  o.vocab_size = a.vocab;
  if (!a.specials.empty()) o.special_tokens = a.specials;
  for (auto& f : a.inputs) o.files.push_back(f);
  tokenizer_train_report report;
  tokenizer t = tokenizer_train(o, &report);
  tokenizer_save(t, a.out);
  std::string short_of = t.vocab_size() < a.vocab
                             ? fmt::format("; asked for {}, the text ran out of pairs to merge", a.vocab) : "";
  fmt::print("wrote {}: {} tokens ({} merges, {} special{}), from {} bytes in {} distinct pieces, fingerprint {}\n",
             a.out, t.vocab_size(), t.merges.size(), t.added.size(), short_of, report.bytes, report.distinct_pieces,
             tokenizer_fingerprint(t));
  return 0;
}

int guarded(const std::function<int()>& f) {
  try {
    return f();
  } catch (const tokenizer_error& e) {
    fmt::print(stderr, "wb: {}\n", e.what());
  } catch (const data_error& e) {
    fmt::print(stderr, "wb: {}\n", e.what());
  }
  return 1;
}

}  // namespace

command add_data_command(CLI::App& app) {
  auto* sub = app.add_subcommand("data", "Tokenize text: prepare shard sets, inspect them, encode, decode, train a tokenizer");
  sub->require_subcommand(1);

  auto enc = std::make_shared<encode_args>();
  auto* e = sub->add_subcommand("encode", "Print the token ids of each input line (whitespace-separated, one line per line)");
  e->add_option("--tokenizer", enc->tokenizer, "HF tokenizer.json (byte-level BPE)")->required();
  e->add_option("file", enc->input, "Input text (stdin when absent)");
  e->add_flag("--text", enc->text, "Encode the whole input as one document (newlines included)");
  e->add_flag("--jsonl", enc->jsonl, "Each input line is a JSON string holding one document");
  e->add_flag("--no-special", enc->no_special, "Encode special tokens such as <|end_of_text|> as plain text");

  auto dec_tok = std::make_shared<std::string>(), dec_in = std::make_shared<std::string>();
  auto* d = sub->add_subcommand("decode", "Print the text of each input line of token ids");
  d->add_option("--tokenizer", *dec_tok, "HF tokenizer.json (byte-level BPE)")->required();
  d->add_option("file", *dec_in, "Input ids (stdin when absent)");

  auto tr = std::make_shared<train_args>();
  auto* t = sub->add_subcommand("tokenizer-train", "Train a byte-level BPE tokenizer (Llama 3 split) and save tokenizer.json");
  t->add_option("--vocab", tr->vocab, "Vocabulary size, including the 256 byte tokens and the special tokens")->required();
  t->add_option("--in", tr->inputs, "Training text files")->required();
  t->add_option("--out", tr->out, "tokenizer.json to write")->required();
  t->add_option("--special", tr->specials, "Special tokens, ids after the learned ones (default <|begin_of_text|> <|end_of_text|>)");

  auto prepare = add_data_prepare_commands(sub);

  return {sub, [=] {
    if (int status = prepare(); status >= 0) return status;
    if (e->parsed()) return guarded([&] { return run_encode(*enc); });
    if (d->parsed()) return guarded([&] { return run_decode(*dec_tok, *dec_in); });
    if (t->parsed()) return guarded([&] { return run_train(*tr); });
    return 2;
  }};
}

}  // namespace wb
