-- wb.models: published model shapes as model blocks. Use one as it is, or call it with changes:
--   model = models.llama3_8b { init = "hf:/fsx/Meta-Llama-3-8B", seq_len = 4096 }
local models = {}

-- Llama 3 / 3.1 ("The Llama 3 Herd of Models", Table 3; meta-llama/llama-models sku_list.py):
-- RoPE theta 500000, RMSNorm eps 1e-5, untied embeddings, vocab 128256, context 8192.
models.llama3_8b = model {
  family = "llama", layers = 32, dim = 4096, heads = 32, kv_heads = 8, ffn = 14336,
  vocab = 128256, seq_len = 8192, rope_theta = 500000, norm_eps = 1e-5, tied_embeddings = false,
}
models.llama3_70b = model {
  family = "llama", layers = 80, dim = 8192, heads = 64, kv_heads = 8, ffn = 28672,
  vocab = 128256, seq_len = 8192, rope_theta = 500000, norm_eps = 1e-5, tied_embeddings = false,
}
models.llama3_405b = model {
  family = "llama", layers = 126, dim = 16384, heads = 128, kv_heads = 8, ffn = 53248,
  vocab = 128256, seq_len = 8192, rope_theta = 500000, norm_eps = 1e-5, tied_embeddings = false,
}
-- Llama 2 7B (Touvron et al. 2023, Table 1 and the released config.json): MHA, vocab 32000.
models.llama2_7b = model {
  family = "llama", layers = 32, dim = 4096, heads = 32, kv_heads = 32, ffn = 11008,
  vocab = 32000, seq_len = 4096, rope_theta = 10000, norm_eps = 1e-5, tied_embeddings = false,
}
-- GPT-3 175B (Brown et al. 2020, Table 2.1): 96 layers, d_model 12288, 96 heads, context 2048,
-- FFN 4 x d_model, vocab 50257 padded to 51200 as Megatron-LM does (divisible by 128 x tp).
models.gpt3_175b = model {
  family = "gpt", layers = 96, dim = 12288, heads = 96, ffn = 49152,
  vocab = 51200, seq_len = 2048, norm_eps = 1e-5, tied_embeddings = true,
}
-- GPT-2 small (Radford et al. 2019; the released 124M checkpoint): 12 layers, 768, 12 heads.
models.gpt2_124m = model {
  family = "gpt", layers = 12, dim = 768, heads = 12, ffn = 3072,
  vocab = 50257, seq_len = 1024, norm_eps = 1e-5, tied_embeddings = true,
}
-- wb's small default, trained on this machine's CPU (recipes/tiny_llama_cpt.lua): 3,950,848
-- parameters with its 4096-token tokenizer, so a few hundred steps run in minutes on 2 cores.
models.tiny_llama = model {
  family = "llama", layers = 4, dim = 256, heads = 8, kv_heads = 4, ffn = 688,
  vocab = 4096, seq_len = 256, rope_theta = 10000, norm_eps = 1e-5, tied_embeddings = true,
}

return models
