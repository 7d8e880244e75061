// Resolution of --ckpt paths.
#include "cli/checkpoint_arg.hpp"

#include <filesystem>
#include <stdexcept>

#include "core/ckpt/checkpoint.hpp"

namespace fs = std::filesystem;

namespace wb {

std::string resolve_checkpoint_arg(const std::string& path) {
  if (fs::exists(fs::path(path) / "manifest.json")) return path;
  for (auto root : {fs::path(path), fs::path(path) / "checkpoints"})
    if (auto latest = ckpt_latest(root.string())) return *latest;
  throw std::runtime_error(path + ": no complete checkpoint here (looked for manifest.json, step-N folders and "
                                  "checkpoints/step-N)");
}

}  // namespace wb
