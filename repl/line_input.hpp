// Reading the REPL's input. On a terminal: libedit (emacs keys, history in $WB_HISTORY or
// ~/.wb_history, Tab calling the completer), with Ctrl-C read as a key that abandons the line
// rather than as a signal, and Ctrl-D on an empty line ending the session. Not on a terminal
// (a pipe, a script): plain lines, no prompt.
#pragma once
#include <functional>
#include <string>

#include "repl/completion.hpp"

typedef struct editline EditLine;
typedef struct history History;

namespace wb {

class line_input {
 public:
  using completer = std::function<completion(const std::string& line_before_cursor)>;
  enum class status { line, interrupted, end };

  explicit line_input(completer complete);
  ~line_input();
  line_input(const line_input&) = delete;
  line_input& operator=(const line_input&) = delete;

  // Reads one line (without its newline) into `out`.
  status read(const std::string& prompt, std::string& out);
  void remember(const std::string& line);  // adds to the history and saves it
  bool interactive() const { return el_ != nullptr; }

  static std::string history_path();       // $WB_HISTORY, else ~/.wb_history

 private:
  static unsigned char on_tab(EditLine* el, int ch);
  static int read_char(EditLine* el, wchar_t* c);
  static char* prompt_of(EditLine* el);

  completer complete_;
  EditLine* el_ = nullptr;
  History* history_ = nullptr;
  std::string prompt_, history_file_;
  bool interrupted_ = false;
};

}  // namespace wb
