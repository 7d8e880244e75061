-- Llama 3 8B continued pre-training on a Swallow-like mix: about 60% Japanese plus English, code
-- and math (the Swallow project's Llama 3 runs: "Amazon SageMaker HyperPod を利用した日本語 LLM
-- (Swallow) の構築", shared/seeds/002), on p5.48xlarge nodes with Megatron-style parallelism.
local models = require "wb.models"

return recipe {
  name = "llama3_8b_cpt",
  description = "Llama 3 8B continued pre-training, 60% Japanese + English, code, math, on 32 x p5.48xlarge",

  model = models.llama3_8b {
    init = "hf:/fsx/models/Meta-Llama-3-8B",
    precision = "bf16",
  },

  data = data {
    tokenizer = "/fsx/models/Meta-Llama-3-8B/tokenizer.json",
    tokens = 100e9,
    sources = {
      ja_web   = source { path = "/fsx/data/ja_web",   weight = 0.50 },
      ja_wiki  = source { path = "/fsx/data/ja_wiki",  weight = 0.10 },
      en_web   = source { path = "/fsx/data/en_web",   weight = 0.20 },
      code     = source { path = "/fsx/data/code",     weight = 0.10 },
      math     = source { path = "/fsx/data/math",     weight = 0.10 },
    },
  },

  parallel = parallel {
    tp = 2, pp = 1, dp = "auto", zero = 1,
    microbatch = 1, global_batch = 1024,
    recompute = "selective", sequence_parallel = true,
  },

  cluster = cluster { instance = "p5.48xlarge", nodes = 32, launcher = "slurm", fabric = "efa" },

  -- Continued pre-training restarts from the base model's published weights, so the peak learning
  -- rate is below Llama 3's 3e-4 (Table 3) and warm-up is short.
  optim = optim { lr = 1e-4, lr_min = 1e-5, betas = {0.9, 0.95}, weight_decay = 0.1,
                  warmup_steps = 1000, schedule = "cosine", clip = 1.0 },

  train = train { log_every = 10, eval_every = 500, seed = 42 },

  checkpoint = checkpoint { dir = "/fsx/checkpoints/llama3_8b_cpt", every = 500, keep = 3, async = true },
}
