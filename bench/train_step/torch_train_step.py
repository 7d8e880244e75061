#!/usr/bin/python3
"""PyTorch peer of wb_train_step for bench/train_step/run: the same Llama (tied embeddings, RMSNorm,
rotate-half RoPE, GQA causal attention, SwiGLU; no biases), same shapes, full training steps
(forward, backward, clip_grad_norm_ 1.0, AdamW lr 3e-4 wd 0.1 with foreach) on random tokens.
Torch 1.13 has neither scaled_dot_product_attention nor torch.compile: attention is the explicit
masked softmax of Hugging Face's LlamaAttention of that time.
    torch_train_step.py train tiny|small fp32|bf16 STEPS [WARMUP=1]  ->  params N | step MS ... | maxrss_delta BYTES
    torch_train_step.py sgemm N REPS                       ->  sgemm GFLOPS (torch.mm fp32, 2 threads)
Peak memory is the growth of ru_maxrss (peak resident set) from before the model is built to after
the last step: parameters, gradients, AdamW state, activations and allocator caching.
"""
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)

CONFIGS = {
    "tiny": dict(layers=4, dim=256, heads=8, kv_heads=4, ffn=688, vocab=4096, seq=256, batch=8),
    "small": dict(layers=8, dim=512, heads=8, kv_heads=8, ffn=1376, vocab=8192, seq=512, batch=4),
}


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.w, self.eps = torch.nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        C, self.nh, self.kvh = c["dim"], c["heads"], c["kv_heads"]
        self.hd = C // self.nh
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)
        self.attn_norm, self.mlp_norm = RMSNorm(C), RMSNorm(C)
        self.wq, self.wk, self.wv, self.wo = lin(C, C), lin(C, self.kvh * self.hd), lin(C, self.kvh * self.hd), lin(C, C)
        self.w1, self.w3, self.w2 = lin(C, c["ffn"]), lin(C, c["ffn"]), lin(c["ffn"], C)

    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, self.nh, self.hd).transpose(1, 2)    # (B, NH, T, HD)
        k = self.wk(h).view(B, T, self.kvh, self.hd).transpose(1, 2)   # (B, KVH, T, HD)
        v = self.wv(h).view(B, T, self.kvh, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if self.kvh != self.nh:
            k, v = k.repeat_interleave(self.nh // self.kvh, 1), v.repeat_interleave(self.nh // self.kvh, 1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask      # (B, NH, T, T)
        a = (torch.softmax(s.float(), dim=-1).to(q.dtype) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.wo(a)
        h = self.mlp_norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.emb = torch.nn.Embedding(c["vocab"], c["dim"])
        self.blocks = torch.nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["dim"])
        hd, T = c["dim"] // c["heads"], c["seq"]
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
        f = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat((f, f), -1)
        self.register_buffer("cos", emb.cos())
        self.register_buffer("sin", emb.sin())
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, tokens, targets):
        x = self.emb(tokens)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        logits = self.norm(x) @ self.emb.weight.T                      # tied head, (B, T, V)
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))


def train(name, precision, steps, warmup):
    c = CONFIGS[name]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    torch.manual_seed(1)
    m = Llama(c)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-4, weight_decay=0.1, foreach=True)
    tokens = torch.randint(0, c["vocab"], (c["batch"], c["seq"]))
    targets = torch.randint(0, c["vocab"], (c["batch"], c["seq"]))
    print("params", sum(p.numel() for p in m.parameters()))

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = m(tokens, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        print(f"step {(time.perf_counter() - t0) * 1e3:.2f} loss {loss:.4f}", flush=True)
    print("maxrss_delta", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024)


def sgemm(n, reps):
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        print(f"sgemm {2 * n ** 3 / (time.perf_counter() - t0) / 1e9:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    else:
        sgemm(int(sys.argv[2]), int(sys.argv[3]))
