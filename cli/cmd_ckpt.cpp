// `wb ckpt inspect DIR` and `wb ckpt verify DIR`: what a checkpoint holds, and whether every byte of
// it is still what was written.
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "cli/checkpoint_arg.hpp"
#include "cli/command.hpp"
#include "core/ckpt/checkpoint.hpp"

namespace wb {
namespace {

int inspect(const std::string& arg) {
  std::string dir = resolve_checkpoint_arg(arg);
  ckpt_reader r(dir, false);
  auto& m = r.manifest();
  auto& st = m["state"];
  fmt::print("{}: step {} of {}, format version {}\n", dir, r.step(), st.value("total_steps", 0LL), m["version"].get<int>());
  fmt::print("recipe {} (recipe_hash {})\n", m["recipe"].value("name", "?"), m.value("recipe_hash", ""));
  fmt::print("layout {}; tokenizer {}\n", m["layout"].dump(), m.value("tokenizer_fingerprint", ""));
  if (st.contains("model")) fmt::print("model {}\n", st["model"].dump());
  fmt::print("data position: {} samples consumed, per source {}\n", st["loader"]["samples"].get<long long>(),
             st["loader"]["source_samples"].dump());
  uint64_t total = 0;
  for (auto& f : m["files"]) total += f["bytes"].get<uint64_t>();
  fmt::print("{} tensors in {} files, {:.1f} MB\n", r.tensors().size(), m["files"].size(), double(total) / 1e6);
  for (auto& t : r.tensors()) {
    std::string shape;
    for (auto d : t.meta.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    fmt::print("  {:<40} {:<5} ({}) {:.1f} KB\n", t.meta.name, st_dtype_name(t.meta.dtype), shape, double(t.bytes) / 1e3);
  }
  return 0;
}

int verify(const std::string& arg) {
  std::string dir = resolve_checkpoint_arg(arg);
  std::string problem = ckpt_verify(dir);
  if (!problem.empty()) {
    std::fprintf(stderr, "wb ckpt verify: %s\n", problem.c_str());
    return 1;
  }
  ckpt_reader r(dir, false);
  uint64_t total = 0;
  for (auto& f : r.manifest()["files"]) total += f["bytes"].get<uint64_t>();
  fmt::print("ok: {} ({} files, {:.1f} MB, every checksum matches)\n", dir, r.manifest()["files"].size(),
             double(total) / 1e6);
  return 0;
}

}  // namespace

command add_ckpt_command(CLI::App& app) {
  auto* sub = app.add_subcommand("ckpt", "Inspect or verify checkpoints");
  sub->require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  auto* i = sub->add_subcommand("inspect", "Step, recipe, layout, data position and tensors of a checkpoint");
  i->add_option("dir", *dir, "Checkpoint (step-N folder, checkpoint folder or run directory)")->required();
  auto* v = sub->add_subcommand("verify", "Re-read every file of a checkpoint and check its checksums");
  v->add_option("dir", *dir, "Checkpoint (step-N folder, checkpoint folder or run directory)")->required();
  return {sub, [=] {
    try {
      if (i->parsed()) return inspect(*dir);
      if (v->parsed()) return verify(*dir);
    } catch (std::exception& e) {
      std::fprintf(stderr, "wb ckpt: %s\n", e.what());
      return 1;
    }
    return 2;
  }};
}

}  // namespace wb
