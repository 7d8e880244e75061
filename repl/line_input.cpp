// libedit set-up and the plain fallback; see line_input.hpp.
#include "repl/line_input.hpp"

#include <cerrno>
#include <climits>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <histedit.h>
#include <unistd.h>

namespace wb {

std::string line_input::history_path() {
  if (const char* p = std::getenv("WB_HISTORY"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.wb_history";
}

line_input::line_input(completer complete) : complete_(std::move(complete)) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) return;
  el_ = el_init("wb", stdin, stdout, stderr);
  if (!el_) return;
  history_ = history_init();
  HistEvent ev;
  history(history_, &ev, H_SETSIZE, 1000);
  history(history_, &ev, H_SETUNIQUE, 1);
  history_file_ = history_path();
  history(history_, &ev, H_LOAD, history_file_.c_str());
  el_set(el_, EL_CLIENTDATA, this);
  el_set(el_, EL_EDITOR, "emacs");
  el_set(el_, EL_SIGNAL, 0);
  el_set(el_, EL_HIST, history, history_);
  el_set(el_, EL_PROMPT, prompt_of);
  el_set(el_, EL_GETCFN, read_char);
  // While editing, Ctrl-C arrives as a key (read_char handles it), not as SIGINT.
  el_set(el_, EL_SETTY, "-d", "-isig", nullptr);
  // NUL is what a ^D typed in canonical mode (while a call runs) reaches the editor as. libedit
  // binds it to quoted-insert (edit mode disables the literal-next key, lnext, to NUL), which
  // put the next ^D into the line as text, where every later ^D only rang the bell. Set-mark is
  // emacs's own binding for ^@ and harmless.
  el_set(el_, EL_BIND, "^@", "em-set-mark", nullptr);
  el_set(el_, EL_ADDFN, "wb-complete", "Complete recipe fields and REPL functions", on_tab);
  el_set(el_, EL_BIND, "^I", "wb-complete", nullptr);
}

line_input::~line_input() {
  if (el_) el_end(el_);
  if (history_) history_end(history_);
}

char* line_input::prompt_of(EditLine* el) {
  void* self = nullptr;
  el_get(el, EL_CLIENTDATA, &self);
  return const_cast<char*>(static_cast<line_input*>(self)->prompt_.c_str());
}

// One character from the terminal, decoded from the locale's multibyte encoding. Ctrl-C (read as
// a byte because edit mode clears ISIG) marks the line interrupted and ends el_gets.
int line_input::read_char(EditLine* el, wchar_t* c) {
  void* self = nullptr;
  el_get(el, EL_CLIENTDATA, &self);
  auto* in = static_cast<line_input*>(self);
  std::mbstate_t state{};
  char bytes[MB_LEN_MAX];
  size_t n = 0;
  while (true) {
    ssize_t got = ::read(STDIN_FILENO, bytes + n, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return int(got);
    if (n == 0 && bytes[0] == '\x03') {
      in->interrupted_ = true;
      return 0;
    }
    ++n;
    wchar_t w;
    size_t r = std::mbrtowc(&w, bytes, n, &state);
    if (r == size_t(-2) && n < sizeof bytes) continue;  // an incomplete sequence: read on
    *c = r == size_t(-1) || r == size_t(-2) ? wchar_t((unsigned char)bytes[0]) : w;
    return 1;
  }
}

unsigned char line_input::on_tab(EditLine* el, int) {
  void* self = nullptr;
  el_get(el, EL_CLIENTDATA, &self);
  auto* in = static_cast<line_input*>(self);
  const LineInfo* li = el_line(el);
  std::string before(li->buffer, size_t(li->cursor - li->buffer));
  completion c = in->complete_(before);
  std::string word = before.substr(c.start);
  if (c.candidates.empty()) return CC_REFRESH_BEEP;
  if (c.common.size() > word.size()) {
    el_insertstr(el, c.common.substr(word.size()).c_str());
    return CC_REFRESH;
  }
  std::string list = "\n";
  for (auto& x : c.candidates) list += x + "  ";
  std::fprintf(stdout, "%s\n", list.c_str());
  std::fflush(stdout);
  return CC_REDISPLAY;
}

line_input::status line_input::read(const std::string& prompt, std::string& out) {
  out.clear();
  if (!el_) {
    char buf[4096];
    while (true) {
      errno = 0;
      if (std::fgets(buf, sizeof buf, stdin)) {
        out += buf;
        if (!out.empty() && out.back() == '\n') break;
        continue;
      }
      if (errno == EINTR) {
        clearerr(stdin);
        return status::interrupted;
      }
      if (out.empty()) return status::end;
      break;
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return status::line;
  }
  prompt_ = prompt;
  interrupted_ = false;
  // Edit mode before the prompt is drawn: el_gets draws the prompt in cooked mode and switches
  // only at its first read, so a key typed in between met canonical mode (^D an end-of-file
  // marker, ^C a SIGINT with no call to stop). el_gets restores cooked mode when it returns.
  el_set(el_, EL_PREP_TERM, 1);
  int count = 0;
  const char* line = el_gets(el_, &count);
  if (interrupted_) {
    std::fputs("^C\n", stdout);
    std::fflush(stdout);
    return status::interrupted;
  }
  if (!line || count <= 0) {
    std::fputc('\n', stdout);
    return status::end;
  }
  out = line;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return status::line;
}

void line_input::remember(const std::string& line) {
  if (!history_ || line.find_first_not_of(" \t") == std::string::npos) return;
  HistEvent ev;
  history(history_, &ev, H_ENTER, line.c_str());
  history(history_, &ev, H_SAVE, history_file_.c_str());
}

}  // namespace wb
