// Ctrl-C in `wb repl`. While a call runs, SIGINT sets a flag that long C++ calls poll (probe's
// training loop stops after its step, a sweep after its row) and installs a Lua hook that raises
// "interrupted" at the next Lua instruction, as lua.c does; the REPL then returns to the prompt.
// While a line is being edited, Ctrl-C is read as a key instead (line_input.hpp).
#pragma once
#include <atomic>

struct lua_State;

namespace wb {

// Installs the SIGINT handler (once).
void interrupt_install();

// The flag SIGINT sets; cleared by interrupt_begin_call.
const std::atomic<bool>& interrupt_flag();

// Brackets a Lua call: between these, SIGINT interrupts L.
void interrupt_begin_call(lua_State* L);
void interrupt_end_call();

}  // namespace wb
