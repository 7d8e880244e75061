// `wb ckpt inspect DIR` and `wb ckpt verify DIR`: what a checkpoint holds, and whether every byte of
// it is still what was written.
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "cli/checkpoint_arg.hpp"
#include "cli/command.hpp"
#include "core/ckpt/checkpoint.hpp"
#include "core/ckpt/hf_llama.hpp"
#include "core/model/param_layout.hpp"
#include "core/run/train_checkpoint.hpp"
#include "core/tokenizer/tokenizer_json.hpp"

namespace fs = std::filesystem;

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
  if (st.contains("loader"))
    fmt::print("data position: {} samples consumed, per source {}\n", st["loader"]["samples"].get<long long>(),
               st["loader"]["source_samples"].dump());
  if (st.contains("imported_from")) fmt::print("imported from {}\n", st["imported_from"].get<std::string>());
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

int import_hf(const std::string& hf_dir, const std::string& out) {
  hf_weights w = hf_load(hf_dir);
  ckpt_contents c;
  c.step = 0;
  std::string tok = (fs::path(hf_dir) / "tokenizer.json").string();
  if (fs::exists(tok)) c.tokenizer_fingerprint = tokenizer_fingerprint(tokenizer_load(tok));
  c.recipe = nlohmann::json::object();
  c.layout = {{"dp", 1}, {"tp", 1}, {"pp", 1}, {"ranks", 1}};
  c.state = {{"step", 0}, {"total_steps", 0}, {"model", model_config_to_json(w.config)},
             {"tokenizer_path", fs::exists(tok) ? tok : ""}, {"imported_from", hf_dir}};
  for (auto& spec : param_layout(w.config))
    c.tensors.push_back({"model." + spec.name, st_dtype::f32, spec.shape, spec.shape, {}, w.tensors.at(spec.name).data()});
  std::string dir = ckpt_write(out, c);
  fmt::print("imported {} ({} weights, {} layers x {} dim) into {}; use it with model.init = \"ckpt:{}\"\n", hf_dir,
             w.source_dtype, w.config.layers, w.config.dim, dir, out);
  return 0;
}

int export_hf(const std::string& arg, const std::string& out, const std::string& dtype) {
  std::string dir = resolve_checkpoint_arg(arg);
  ckpt_reader r(dir);
  auto& st = r.manifest()["state"];
  if (!st.contains("model")) throw std::runtime_error(dir + ": the checkpoint does not record its model");
  model_config cfg = model_config_from_json(st["model"]);
  std::map<std::string, const float*> tensors;
  std::vector<std::vector<float>> storage;
  for (auto& spec : param_layout(cfg)) {
    if (r.global_shape("model." + spec.name) != spec.shape)
      throw std::runtime_error(fmt::format("{}: no tensor model.{} of shape {}", dir, spec.name, shape_str(spec.shape)));
    auto& v = storage.emplace_back(size_t(shape_numel(spec.shape)));
    r.read_global("model." + spec.name, v.data());
    tensors[spec.name] = v.data();
  }
  hf_save(out, cfg, tensors, dtype == "bf16" ? st_dtype::bf16 : st_dtype::f32);
  fmt::print("exported {} to {} (config.json, model.safetensors, {})\n", dir, out, dtype);
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
  auto* sub = app.add_subcommand("ckpt", "Inspect, verify, import from and export to Hugging Face");
  sub->require_subcommand(1);
  auto dir = std::make_shared<std::string>();
  auto* i = sub->add_subcommand("inspect", "Step, recipe, layout, data position and tensors of a checkpoint");
  i->add_option("dir", *dir, "Checkpoint (step-N folder, checkpoint folder or run directory)")->required();
  auto* v = sub->add_subcommand("verify", "Re-read every file of a checkpoint and check its checksums");
  v->add_option("dir", *dir, "Checkpoint (step-N folder, checkpoint folder or run directory)")->required();
  auto hf = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("f32");
  auto* im = sub->add_subcommand("import-hf", "Convert a Hugging Face Llama directory into a wb checkpoint");
  im->add_option("hf_dir", *hf, "Hugging Face directory (config.json, model.safetensors or an index)")->required();
  im->add_option("--out", *out, "Checkpoint folder to write")->required();
  auto* ex = sub->add_subcommand("export-hf", "Write a wb checkpoint's model as a Hugging Face Llama directory");
  ex->add_option("dir", *dir, "Checkpoint (step-N folder, checkpoint folder or run directory)")->required();
  ex->add_option("--out", *out, "Hugging Face directory to write")->required();
  ex->add_option("--dtype", *dtype, "f32 (default) or bf16")->check(CLI::IsMember({"f32", "bf16"}));
  return {sub, [=] {
    try {
      if (im->parsed()) return import_hf(*hf, *out);
      if (ex->parsed()) return export_hf(*dir, *out, *dtype);
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
