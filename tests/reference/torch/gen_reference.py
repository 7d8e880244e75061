#!/usr/bin/python3
"""PyTorch reference for wb's models: loss and gradients of tiny Llama and GPT models, written out
from the Hugging Face modelling equations (LlamaModel: RMSNorm, rotate-half RoPE, GQA causal
attention, SwiGLU; GPT-2: LayerNorm with bias, learned positions, tanh-GELU, biases) in float64,
so the fixture holds the exact values and the C++ test measures wb's fp32 error alone.

Weights are not stored: both sides generate them from the parameter name (see `weights` below;
tests/reference/torch/torch_reference_test.cpp has the same generator), every value exact in fp32.
Each case is one safetensors file: tokens, targets (I32), loss (F64), grad.<name> (F32), and the
model config plus the sum of |weights| (a check that the two generators agree) as metadata.

Regenerate (needs Debian's python3-torch, apt-get install -y python3-torch):
    /usr/bin/python3 tests/reference/torch/gen_reference.py
"""
import json
import math
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1

CASES = {
    # name: config (wb model_config fields); B = 2 rows of T = seq_len tokens
    "llama_untied": dict(family="llama", layers=2, dim=64, heads=4, kv_heads=2, ffn=128, vocab=96, seq_len=16,
                         tied_embeddings=False, norm_eps=1e-5, rope_theta=10000.0),
    "llama_tied": dict(family="llama", layers=2, dim=32, heads=4, kv_heads=2, ffn=64, vocab=96, seq_len=16,
                       tied_embeddings=True, norm_eps=1e-5, rope_theta=500000.0),
    "gpt_tied": dict(family="gpt", layers=2, dim=32, heads=4, kv_heads=0, ffn=128, vocab=96, seq_len=16,
                     tied_embeddings=True, norm_eps=1e-5, rope_theta=10000.0),
}
B = 2


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for byte in s.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return h


def uniform21(seed, n):
    """n values in [-1, 1) on a 2^-20 grid: splitmix64 (Steele et al. 2014) of seed + (i + 1) * golden."""
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out[i] = (z >> 43) / float(1 << 20) - 1.0
    return out


def weights(name, shape):
    """Exact in fp32: u on a 2^-20 grid times a power of two (plus 1 for norm weights)."""
    u = uniform21(fnv1a64(name), int(np.prod(shape))).reshape(shape)
    last = name.rsplit(".", 1)[-1]
    if name in ("tok_emb", "wte", "wpe"):
        w = u * 0.5
    elif len(shape) == 2:  # (out, in): scale 2^-ceil(log2(in) / 2), about 1 / sqrt(in)
        w = u * 2.0 ** -math.ceil(math.log2(shape[1]) / 2)
    elif last in ("attn_norm", "mlp_norm", "norm", "w"):
        w = 1.0 + u * 0.25  # norm weights
    else:
        w = u * 0.0625  # biases
    assert np.array_equal(w.astype(np.float32).astype(np.float64), w)
    return torch.tensor(w, dtype=torch.float64, requires_grad=True)


def layout(c):
    """Names and shapes in wb's order (core/model/param_layout.cpp)."""
    C, V, F, L = c["dim"], c["vocab"], c["ffn"], c["layers"]
    HD = C // c["heads"]
    Q, KV = c["heads"] * HD, (c["kv_heads"] or c["heads"]) * HD
    p = []
    if c["family"] == "gpt":
        p += [("wte", (V, C)), ("wpe", (c["seq_len"], C))]
        for l in range(L):
            s = f"layers.{l}."
            p += [(s + "ln1.w", (C,)), (s + "ln1.b", (C,)), (s + "attn.wq", (Q, C)), (s + "attn.bq", (Q,)),
                  (s + "attn.wk", (KV, C)), (s + "attn.bk", (KV,)), (s + "attn.wv", (KV, C)), (s + "attn.bv", (KV,)),
                  (s + "attn.wo", (C, Q)), (s + "attn.bo", (C,)), (s + "ln2.w", (C,)), (s + "ln2.b", (C,)),
                  (s + "mlp.fc", (F, C)), (s + "mlp.bfc", (F,)), (s + "mlp.proj", (C, F)), (s + "mlp.bproj", (C,))]
        p += [("ln_f.w", (C,)), ("ln_f.b", (C,))]
    else:
        p += [("tok_emb", (V, C))]
        for l in range(L):
            s = f"layers.{l}."
            p += [(s + "attn_norm", (C,)), (s + "attn.wq", (Q, C)), (s + "attn.wk", (KV, C)), (s + "attn.wv", (KV, C)),
                  (s + "attn.wo", (C, Q)), (s + "mlp_norm", (C,)), (s + "mlp.w1", (F, C)), (s + "mlp.w3", (F, C)),
                  (s + "mlp.w2", (C, F))]
        p += [("norm", (C,))]
    if not c["tied_embeddings"]:
        p += [("lm_head", (V, C))]
    return p


# --- Hugging Face modelling equations ---------------------------------------------------------

def rms_norm(x, w, eps):  # LlamaRMSNorm
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):  # modeling_llama.rotate_half
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope(x, theta):  # x (B, NH, T, HD); LlamaRotaryEmbedding + apply_rotary_pos_emb
    T, HD = x.shape[2], x.shape[3]
    inv_freq = 1.0 / (theta ** (torch.arange(0, HD, 2, dtype=torch.float64) / HD))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def causal_attention(q, k, v):  # q (B, NH, T, HD), k v (B, KVH, T, HD); repeat_kv then SDPA
    g = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
    T = q.shape[2]
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def attention_block(c, W, s, h, rope_on, bias):
    Bn, T, C = h.shape
    HD = C // c["heads"]
    KVH = c["kv_heads"] or c["heads"]
    lin = lambda n, b: h @ W[s + n].T + (W[s + b] if bias else 0)
    q = lin("attn.wq", "attn.bq").view(Bn, T, c["heads"], HD).transpose(1, 2)
    k = lin("attn.wk", "attn.bk").view(Bn, T, KVH, HD).transpose(1, 2)
    v = lin("attn.wv", "attn.bv").view(Bn, T, KVH, HD).transpose(1, 2)
    if rope_on:
        q, k = rope(q, c["rope_theta"]), rope(k, c["rope_theta"])
    a = causal_attention(q, k, v).transpose(1, 2).reshape(Bn, T, c["heads"] * HD)
    return a @ W[s + "attn.wo"].T + (W[s + "attn.bo"] if bias else 0)


def llama_hidden(c, W, tokens):
    eps = c["norm_eps"]
    x = W["tok_emb"][tokens]
    for l in range(c["layers"]):
        s = f"layers.{l}."
        x = x + attention_block(c, W, s, rms_norm(x, W[s + "attn_norm"], eps), True, False)
        h = rms_norm(x, W[s + "mlp_norm"], eps)
        x = x + (torch.nn.functional.silu(h @ W[s + "mlp.w1"].T) * (h @ W[s + "mlp.w3"].T)) @ W[s + "mlp.w2"].T
    return rms_norm(x, W["norm"], eps)


def gpt_hidden(c, W, tokens):
    eps, ln = c["norm_eps"], torch.nn.functional.layer_norm
    x = W["wte"][tokens] + W["wpe"][: tokens.shape[1]]
    for l in range(c["layers"]):
        s = f"layers.{l}."
        h = ln(x, (c["dim"],), W[s + "ln1.w"], W[s + "ln1.b"], eps)
        x = x + attention_block(c, W, s, h, False, True)
        h = ln(x, (c["dim"],), W[s + "ln2.w"], W[s + "ln2.b"], eps)
        f = torch.nn.functional.gelu(h @ W[s + "mlp.fc"].T + W[s + "mlp.bfc"], approximate="tanh")
        x = x + f @ W[s + "mlp.proj"].T + W[s + "mlp.bproj"]
    return ln(x, (c["dim"],), W["ln_f.w"], W["ln_f.b"], eps)


def loss_of(c, W, tokens, targets):
    x = (gpt_hidden if c["family"] == "gpt" else llama_hidden)(c, W, tokens)
    head = W["lm_head"] if not c["tied_embeddings"] else W["wte" if c["family"] == "gpt" else "tok_emb"]
    logits = x @ head.T
    return torch.nn.functional.cross_entropy(logits.view(-1, c["vocab"]), targets.view(-1), ignore_index=-1)


# --- fixture ------------------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, arr in tensors:
        dt = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int32): "I32"}[arr.dtype]
        b = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    for case, c in CASES.items():
        gen = torch.Generator().manual_seed(fnv1a64(case) & 0x7FFFFFFF)
        T, V = c["seq_len"], c["vocab"]
        tokens = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
        targets = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
        targets[0, :3] = -1  # ignored positions: not in the mean
        W = {n: weights(n, s) for n, s in layout(c)}
        loss = loss_of(c, W, tokens, targets)
        loss.backward()
        abs_sum = sum(float(w.detach().abs().sum()) for w in W.values())
        tensors = [("tokens", tokens.numpy().astype(np.int32)), ("targets", targets.numpy().astype(np.int32)),
                   ("loss", np.array([loss.item()], dtype=np.float64))]
        tensors += [("grad." + n, W[n].grad.numpy().astype(np.float32)) for n, _ in layout(c)]
        meta = {"config": json.dumps(c), "weights_abs_sum": repr(abs_sum), "torch": torch.__version__,
                "generator": "tests/reference/torch/gen_reference.py"}
        path = os.path.join(HERE, case + ".safetensors")
        write_safetensors(path, tensors, meta)
        print(f"{case}: loss {loss.item():.6f}, {sum(int(np.prod(s)) for _, s in layout(c))} params, "
              f"{os.path.getsize(path)} bytes -> {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
