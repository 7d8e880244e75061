-- GPT-3 175B pre-training from scratch on 300B tokens (Brown et al. 2020), on p4d/p4de: the
-- worked example of Narayanan et al. 2021 (1,024 A100 at about 140 TFLOP/s: about 34 days).
-- 128 x p4de.24xlarge = 1,024 A100 80GB; layout and batch from the paper's Table 1 row for 175B
-- (t = 8, p = 16, batch 1536), there on 1,536 GPUs.
local models = require "wb.models"

return recipe {
  name = "gpt3_175b_pretrain",
  description = "GPT-3 175B pre-training, 300B tokens, on 128 x p4de.24xlarge (1,024 A100 80GB)",

  model = models.gpt3_175b { precision = "bf16" },

  data = data {
    tokenizer = "/fsx/tokenizers/gpt2/tokenizer.json",
    tokens = 300e9,
    sources = {
      common_crawl = source { path = "/fsx/data/common_crawl", weight = 0.60 },
      webtext2     = source { path = "/fsx/data/webtext2",     weight = 0.22 },
      books1       = source { path = "/fsx/data/books1",       weight = 0.08 },
      books2       = source { path = "/fsx/data/books2",       weight = 0.08 },
      wikipedia    = source { path = "/fsx/data/wikipedia",    weight = 0.03 },
    },
  },

  parallel = parallel {
    tp = 8, pp = 16, dp = "auto", zero = 1,
    microbatch = 1, global_batch = 1536, recompute = "full",
  },

  cluster = cluster { instance = "p4de.24xlarge", nodes = 128, launcher = "slurm", fabric = "efa" },

  -- Brown et al. 2020, Table 2.1 and Appendix B: lr 0.6e-4, betas (0.9, 0.95), eps 1e-8, decay to
  -- 10% with cosine, warm-up over 375M tokens (= 120 steps of 1536 x 2048), clip 1.0, wd 0.1.
  optim = optim { lr = 0.6e-4, lr_min = 0.6e-5, betas = {0.9, 0.95}, eps = 1e-8, weight_decay = 0.1,
                  warmup_steps = 120, schedule = "cosine", clip = 1.0 },

  train = train { log_every = 10, eval_every = 1000, seed = 1 },

  checkpoint = checkpoint { dir = "/fsx/checkpoints/gpt3_175b", every = 1000, keep = 2, async = true },
}
