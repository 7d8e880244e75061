// A --ckpt argument as users give it: a step directory, a checkpoint folder, or a run directory
// (its newest complete checkpoint is taken).
#pragma once
#include <string>

namespace wb {

// Throws std::runtime_error saying what was looked for.
std::string resolve_checkpoint_arg(const std::string& path);

}  // namespace wb
