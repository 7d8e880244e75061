// Sub-commands of `wb data` defined outside cmd_data.cpp: each adder returns a runner that gives -1
// when none of its sub-commands was chosen.
#pragma once
#include <functional>

#include <CLI/CLI.hpp>

namespace wb {

std::function<int()> add_data_prepare_commands(CLI::App* data);

}  // namespace wb
