#!/usr/bin/python3
"""Writes tiny Hugging Face Llama directories and the loss the HF Llama modelling equations give on
fixed tokens, for tests/reference/hf/hf_import_test.cpp. Run with Debian's python3-torch:
    /usr/bin/python3 tests/reference/hf/gen_hf_llama.py tests/reference/hf
The equations follow transformers' modeling_llama.py (LlamaRMSNorm, LlamaRotaryEmbedding with
rotate_half, repeat_kv for grouped-query attention, LlamaMLP with SiLU gate), written out here in
float64 so the test does not need transformers. safetensors files are written by hand (format:
8-byte little-endian header length, JSON header, data)."""
import json, os, struct, sys
import torch

def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, (dtype, t) in tensors.items():
        if dtype == "BF16":
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        else:
            raw = t.to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)

def llama_loss(cfg, W, tokens):
    C, H, KV, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"]
    hd, eps, theta = C // H, cfg["rms_norm_eps"], cfg["rope_theta"]
    T = tokens.shape[0]
    h = W["model.embed_tokens.weight"][tokens]
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(L):
        p = f"model.layers.{l}."
        x = rmsnorm(h, W[p + "input_layernorm.weight"], eps)
        q = (x @ W[p + "self_attn.q_proj.weight"].T).view(T, H, hd).transpose(0, 1)
        k = (x @ W[p + "self_attn.k_proj.weight"].T).view(T, KV, hd).transpose(0, 1)
        v = (x @ W[p + "self_attn.v_proj.weight"].T).view(T, KV, hd).transpose(0, 1)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KV, dim=0), v.repeat_interleave(H // KV, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) / hd ** 0.5 + mask, dim=-1) @ v
        h = h + att.transpose(0, 1).reshape(T, C) @ W[p + "self_attn.o_proj.weight"].T
        x = rmsnorm(h, W[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(x @ W[p + "mlp.gate_proj.weight"].T) * (x @ W[p + "mlp.up_proj.weight"].T)
        h = h + g @ W[p + "mlp.down_proj.weight"].T
    h = rmsnorm(h, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    logits = h @ head.T
    return torch.nn.functional.cross_entropy(logits[:-1], tokens[1:]).item()

def main(out):
    torch.manual_seed(0)
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 160,
           "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 96,
           "max_position_embeddings": 32, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": False,
           "hidden_act": "silu", "torch_dtype": "float32"}
    C, F, V, L, H, KV = 64, 160, 96, 2, 4, 2
    hd = C // H
    shapes = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,), "lm_head.weight": (V, C)}
    for l in range(L):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": (C,), p + "post_attention_layernorm.weight": (C,),
                       p + "self_attn.q_proj.weight": (H * hd, C), p + "self_attn.k_proj.weight": (KV * hd, C),
                       p + "self_attn.v_proj.weight": (KV * hd, C), p + "self_attn.o_proj.weight": (C, H * hd),
                       p + "mlp.gate_proj.weight": (F, C), p + "mlp.up_proj.weight": (F, C),
                       p + "mlp.down_proj.weight": (C, F)})
    W = {}
    for name, shape in shapes.items():
        if name.endswith("norm.weight"):
            W[name] = (1.0 + 0.1 * torch.randn(shape)).to(torch.float32)
        else:
            W[name] = (0.08 * torch.randn(shape)).to(torch.float32)
    tokens = torch.randint(0, V, (32,))
    expected = {"tokens": tokens.tolist()}

    # F32, one file.
    d = os.path.join(out, "llama_f32")
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), {n: ("F32", t) for n, t in W.items()})
    expected["llama_f32"] = llama_loss(cfg, {n: t.double() for n, t in W.items()}, tokens)

    # The same weights in two shards with an index, as large HF checkpoints are published.
    d = os.path.join(out, "llama_sharded")
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    names = sorted(W)
    first, second = names[: len(names) // 2], names[len(names) // 2 :]
    write_safetensors(os.path.join(d, "model-00001-of-00002.safetensors"), {n: ("F32", W[n]) for n in first})
    write_safetensors(os.path.join(d, "model-00002-of-00002.safetensors"), {n: ("F32", W[n]) for n in second})
    index = {"metadata": {}, "weight_map": {**{n: "model-00001-of-00002.safetensors" for n in first},
                                            **{n: "model-00002-of-00002.safetensors" for n in second}}}
    json.dump(index, open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=2)

    # BF16, as Llama 3 is published: the loss of the bf16-rounded weights.
    d = os.path.join(out, "llama_bf16")
    os.makedirs(d, exist_ok=True)
    json.dump({**cfg, "torch_dtype": "bfloat16"}, open(os.path.join(d, "config.json"), "w"), indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), {n: ("BF16", t) for n, t in W.items()})
    expected["llama_bf16"] = llama_loss(cfg, {n: t.to(torch.bfloat16).double() for n, t in W.items()}, tokens)

    json.dump(expected, open(os.path.join(out, "expected.json"), "w"), indent=2)
    print(json.dumps({k: v for k, v in expected.items() if k != "tokens"}))

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
