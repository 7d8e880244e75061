// `wb sample --ckpt DIR --prompt TEXT`: generate text from a checkpoint (greedy, or temperature
// sampling with a seed). The model and tokenizer are the ones the checkpoint was trained with.
#include <cstdio>
#include <fmt/format.h>

#include "backends/cpu/cpu_backend.hpp"
#include "cli/checkpoint_arg.hpp"
#include "cli/command.hpp"
#include "core/data/tokenizer_encoder.hpp"
#include "core/run/generate.hpp"
#include "core/run/train_checkpoint.hpp"
#include "core/tokenizer/bpe_encoder.hpp"
#include "core/tokenizer/tokenizer_json.hpp"

namespace wb {
namespace {

struct sample_args {
  std::string ckpt, prompt, tokenizer;
  int max_tokens = 64, threads = 0;
  double temperature = 0;
  uint64_t seed = 0;
};

int run_sample(const sample_args& a) {
  std::string dir = resolve_checkpoint_arg(a.ckpt);
  ckpt_reader r(dir, false);
  auto& st = r.manifest()["state"];
  if (!st.contains("model")) throw std::runtime_error(dir + ": the checkpoint does not record its model");
  model_config cfg = model_config_from_json(st["model"]);
  std::string tok_path = a.tokenizer.empty() ? st.value("tokenizer_path", "") : a.tokenizer;
  tokenizer tok = tokenizer_load(tok_path);
  if (tokenizer_fingerprint(tok) != r.manifest().value("tokenizer_fingerprint", ""))
    throw std::runtime_error(fmt::format("{} is not the tokenizer the checkpoint was trained with", tok_path));
  model m(cfg, 0);
  checkpoint_load_model(dir, m);
  cpu_backend backend(a.threads);
  bpe_encoder enc(tok);
  std::vector<int32_t> context;
  enc.encode(a.prompt, context, /*allow_special=*/true);
  if (context.empty()) throw std::runtime_error("the prompt is empty");
  sample_options o;
  o.max_new_tokens = a.max_tokens;
  o.temperature = a.temperature;
  o.seed = a.seed;
  if (auto eos = tokenizer_eos_id(tok)) o.stop_id = *eos;
  auto out = generate(m, backend, context, o);
  if (!out.empty() && out.back() == o.stop_id) out.pop_back();
  std::printf("%s%s\n", a.prompt.c_str(), tokenizer_decode(tok, out).c_str());
  return 0;
}

}  // namespace

command add_sample_command(CLI::App& app) {
  auto* sub = app.add_subcommand("sample", "Generate text from a checkpoint (greedy or temperature sampling)");
  auto a = std::make_shared<sample_args>();
  sub->add_option("--ckpt", a->ckpt, "Checkpoint (step-N folder, checkpoint folder or run directory)")->required();
  sub->add_option("--prompt", a->prompt, "Text to continue")->required();
  sub->add_option("--max-tokens", a->max_tokens, "Tokens to generate (default 64)");
  sub->add_option("--temperature", a->temperature, "0 for greedy (default); above 0 samples");
  sub->add_option("--seed", a->seed, "Seed of sampling (default 0)");
  sub->add_option("--tokenizer", a->tokenizer, "tokenizer.json (default: the one the checkpoint was trained with)");
  sub->add_option("--threads", a->threads, "CPU threads (default every core)");
  return {sub, [a] {
    try {
      return run_sample(*a);
    } catch (std::exception& e) {
      std::fprintf(stderr, "wb sample: %s\n", e.what());
      return 1;
    }
  }};
}

}  // namespace wb
