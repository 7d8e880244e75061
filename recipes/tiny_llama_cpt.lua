-- The small default: a 4.0M-parameter Llama trained on this machine's CPU on wb's default mix
-- (Japanese, English, code, math; see docs/data.md), shaped like the Swallow recipe so that the
-- whole path (data mix, tokenizer, optimizer, schedule, checkpoints) is rehearsed in minutes.
local models = require "wb.models"

return recipe {
  name = "tiny_llama_cpt",
  description = "Tiny Llama on the default Japanese/English/code/math mix, on this machine's CPU",

  model = models.tiny_llama { precision = "fp32" },

  data = data {
    tokenizer = "data/default/tokenizer.json",
    sources = {
      ja   = source { path = "data/default/ja",   weight = 0.6 },
      en   = source { path = "data/default/en",   weight = 0.2 },
      code = source { path = "data/default/code", weight = 0.1 },
      math = source { path = "data/default/math", weight = 0.1 },
    },
    valid_fraction = 0.02,
  },

  parallel = parallel { dp = 1, tp = 1, pp = 1, microbatch = 8, global_batch = 16, recompute = "none" },

  cluster = cluster { instance = "local", nodes = 1 },

  optim = optim { lr = 3e-3, lr_min = 3e-4, warmup_steps = 20, schedule = "cosine", clip = 1.0,
                  weight_decay = 0.1 },

  -- 150 steps of 16 x 256 tokens (0.6M tokens): about 4-5 minutes at the ~2.3k tokens/s the CPU
  -- engine reaches on this 2-core machine (docs/benchmarks.md).
  train = train { steps = 150, log_every = 10, eval_every = 50, seed = 1234 },

  checkpoint = checkpoint { dir = "checkpoints", every = 50, keep = 2 },
}
