-- Llama 3 70B continued pre-training as Swallow's Llama-3.3-Swallow-70B-v0.4 was trained: 315B
-- tokens, about 60% Japanese plus English, math and code, on 32 x p5.48xlarge with SageMaker
-- HyperPod (shared/seeds/002). Builds on the 8B recipe's data mix, optimizer and checkpoints.
local models = require "wb.models"

return recipe {
  extends = "llama3_8b_cpt",
  name = "llama3_70b_cpt",
  description = "Llama 3 70B continued pre-training, Swallow-like mix, 315B tokens on 32 x p5.48xlarge",

  model = models.llama3_70b {
    init = "hf:/fsx/models/Meta-Llama-3-70B",
    precision = "bf16",
  },

  data = data {
    tokenizer = "/fsx/models/Meta-Llama-3-70B/tokenizer.json",
    tokens = 315e9,
  },

  -- 70B in bf16 needs tp = 8 within a node and a pipeline over 4 nodes (Narayanan et al. 2021:
  -- keep tensor parallelism inside the NVLink domain).
  parallel = parallel {
    tp = 8, pp = 4, virtual_stages = 5, dp = "auto", zero = 1,
    microbatch = 1, global_batch = 1024, recompute = "selective",
  },

  optim = optim { lr = 2.5e-5, lr_min = 2.5e-6, warmup_steps = 1000 },

  checkpoint = checkpoint { dir = "/fsx/checkpoints/llama3_70b_cpt" },
}
