// A small Lua 5.1 lexer (names, strings, long brackets, comments, punctuation) feeding the key index.
#include "core/recipe/lua_source_index.hpp"

#include <cctype>

namespace wb {
namespace {

struct token {
  enum kind_t { name, string, number, punct, eof } kind;
  std::string text;
  int line;
};

// Length of a long bracket opener "[==[" at s[i] (returns level+2) or 0.
size_t long_bracket(std::string_view s, size_t i, int& level) {
  if (i >= s.size() || s[i] != '[') return 0;
  size_t j = i + 1;
  level = 0;
  while (j < s.size() && s[j] == '=') { ++level; ++j; }
  if (j < s.size() && s[j] == '[') return j - i + 1;
  return 0;
}

std::vector<token> lex(std::string_view s, int& lines) {
  std::vector<token> out;
  int line = 1;
  size_t i = 0;
  auto skip_long = [&](size_t from, int level) {  // returns index after the closing bracket
    std::string close = "]" + std::string(level, '=') + "]";
    size_t end = s.find(close, from);
    size_t stop = end == std::string_view::npos ? s.size() : end + close.size();
    for (size_t k = from; k < stop; ++k) if (s[k] == '\n') ++line;
    return stop;
  };
  while (i < s.size()) {
    char c = s[i];
    if (c == '\n') { ++line; ++i; continue; }
    if (std::isspace((unsigned char)c)) { ++i; continue; }
    if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      int level;
      if (size_t n = long_bracket(s, i + 2, level)) { i = skip_long(i + 2 + n, level); continue; }
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    int level;
    if (size_t n = long_bracket(s, i, level)) {
      int start = line;
      i = skip_long(i + n, level);
      out.push_back({token::string, "", start});
      continue;
    }
    if (c == '"' || c == '\'') {
      int start = line;
      std::string text;
      ++i;
      while (i < s.size() && s[i] != c) {
        if (s[i] == '\\' && i + 1 < s.size()) { if (s[i + 1] == '\n') ++line; text += s[i + 1]; i += 2; continue; }
        if (s[i] == '\n') ++line;
        text += s[i++];
      }
      ++i;
      out.push_back({token::string, text, start});
      continue;
    }
    if (std::isalpha((unsigned char)c) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum((unsigned char)s[j]) || s[j] == '_')) ++j;
      out.push_back({token::name, std::string(s.substr(i, j - i)), line});
      i = j;
      continue;
    }
    if (std::isdigit((unsigned char)c) || (c == '.' && i + 1 < s.size() && std::isdigit((unsigned char)s[i + 1]))) {
      size_t j = i;
      while (j < s.size() && (std::isalnum((unsigned char)s[j]) || s[j] == '.' ||
                              ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
        ++j;
      out.push_back({token::number, std::string(s.substr(i, j - i)), line});
      i = j;
      continue;
    }
    if (c == '=' && i + 1 < s.size() && s[i + 1] == '=') { out.push_back({token::punct, "==", line}); i += 2; continue; }
    if (c == '.' && i + 2 < s.size() && s[i + 1] == '.' && s[i + 2] == '.') { out.push_back({token::punct, "...", line}); i += 3; continue; }
    out.push_back({token::punct, std::string(1, c), line});
    ++i;
  }
  lines = (!s.empty() && s.back() == '\n') ? line - 1 : line;  // a final newline ends a line
  out.push_back({token::eof, "", line});
  return out;
}

}  // namespace

lua_source_index::lua_source_index(std::string_view source) {
  auto tokens = lex(source, lines_);
  struct frame { char open; size_t table; };  // table: index into tables_ for '{'
  std::vector<frame> stack;
  int block_depth = 0;  // function/do/then ... end nesting, for "top-level return"
  bool field_start = false;
  int pending_return_line = -1;  // set after a top-level `return`, until its first '{'
  for (size_t k = 0; k + 1 < tokens.size(); ++k) {
    const token& t = tokens[k];
    if (t.kind == token::name && stack.empty()) {
      if (t.text == "function" || t.text == "do" || t.text == "if" || t.text == "repeat") ++block_depth;
      else if (t.text == "end" || t.text == "until") --block_depth;
      else if (t.text == "return" && block_depth == 0) pending_return_line = 0;
    }
    if (t.kind == token::punct && (t.text == "{" || t.text == "(" || t.text == "[")) {
      if (t.text == "{") {
        tables_.push_back({t.line, {}});
        stack.push_back({'{', tables_.size() - 1});
        field_start = true;
        if (pending_return_line == 0 && stack.size() == 1) pending_return_line = t.line;
        continue;
      }
      stack.push_back({t.text[0], 0});
      field_start = false;
      continue;
    }
    if (t.kind == token::punct && (t.text == "}" || t.text == ")" || t.text == "]")) {
      if (!stack.empty()) stack.pop_back();
      field_start = false;
      continue;
    }
    if (!stack.empty() && stack.back().open == '{') {
      if (t.kind == token::punct && (t.text == "," || t.text == ";")) { field_start = true; continue; }
      if (field_start && t.kind == token::name && tokens[k + 1].kind == token::punct && tokens[k + 1].text == "=") {
        tables_[stack.back().table].keys.emplace_back(t.text, t.line);
      }
      // ["key"] = value
      if (field_start && t.kind == token::punct && t.text == "[") {}
    }
    field_start = false;
  }
  // `[ "key" ] =` fields: a second light pass, since '[' pushes a frame above.
  std::vector<size_t> open_tables;
  for (size_t k = 0, table = 0; k + 4 < tokens.size(); ++k) {
    const token& t = tokens[k];
    if (t.kind != token::punct) continue;
    if (t.text == "{") { open_tables.push_back(table++); continue; }
    if (t.text == "}") { if (!open_tables.empty()) open_tables.pop_back(); continue; }
    if (t.text == "[" && tokens[k + 1].kind == token::string && tokens[k + 2].text == "]" &&
        tokens[k + 3].text == "=" && !open_tables.empty())
      tables_[open_tables.back()].keys.emplace_back(tokens[k + 1].text, tokens[k + 1].line);
  }
  if (pending_return_line > 0) return_table_line_ = pending_return_line;
}

int lua_source_index::key_line(int table_line, std::string_view key) const {
  for (auto& t : tables_) {
    if (t.open_line != table_line) continue;
    for (auto& [k, line] : t.keys) if (k == key) return line;
  }
  return 0;
}

}  // namespace wb
