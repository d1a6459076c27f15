#!/usr/bin/python3
"""PyTorch float32's own error on crossAttention at large logits, the bound the fused kernels are
held to (issue 13; test/attention/logit-scale.test.ts).

For each case and logit scale L in 1, 10, 100, 1000, the inputs are the attention tests' seeded ones
(test/attention/helpers.ts `inputs`: mulberry32 -> uniform [-1, 1), drawn q, k, v, g; the key mask
keep[b, j] = (7b + 3j) % 5 != 0), then q and k are both multiplied by sqrt(L / max |S|), S the
scaled scores q_h k_hᵀ / sqrt(D/H) over every head, query and key in float64 (so the largest logit
is L). The same scaling is computed in the test, in the same order. PyTorch runs the reference
composition (matmul, masked softmax, matmul; autograd for sum(out * g)) once in float64 and once in
float32 (inputs rounded to float32); the fixture stores float32's error against float64 for the
output and each gradient as max |f32 - f64| / max |f64| (the tests' relErr).

Writes test/fixtures/attention/logit-scale.json.
Usage: /usr/bin/python3 tools/attention_logit_scale.py [--out test/fixtures/attention/logit-scale.json]
(Debian: apt-get install -y python3-torch; the system python, not a pyenv one)
"""
import argparse
import json
import math
import os

import torch
from mulberry32 import mulberry32  # tools/mulberry32.py: the tests' generator

# (name, seed, B, Tq, Tk, D, heads)
CASES = [
    ("dh32", 3, 2, 19, 37, 64, 2),
    ("dh16", 8, 3, 33, 50, 32, 2),
]
SCALES = [1, 10, 100, 1000]


def draw(r, n):
    return [(r() * 2 - 1) for _ in range(n)]


def scaled_inputs(seed, B, Tq, Tk, D, heads, L):
    r = mulberry32(seed)
    q = draw(r, B * Tq * D)
    k = draw(r, B * Tk * D)
    v = draw(r, B * Tk * D)
    g = draw(r, B * Tq * D)
    dh = D // heads
    m = 0.0
    for b in range(B):
        for h in range(heads):
            for i in range(Tq):
                qo = (b * Tq + i) * D + h * dh
                for j in range(Tk):
                    ko = (b * Tk + j) * D + h * dh
                    a = 0.0
                    for d in range(dh):
                        a += q[qo + d] * k[ko + d]
                    m = max(m, abs(a / math.sqrt(dh)))
    f = math.sqrt(L / m)
    return [x * f for x in q], [x * f for x in k], v, g


def attention(q, k, v, heads, keep):
    B, Tq, D = q.shape
    Tk = k.shape[1]
    dh = D // heads
    qh = q.view(B, Tq, heads, dh).transpose(1, 2)
    kh = k.view(B, Tk, heads, dh).transpose(1, 2)
    vh = v.view(B, Tk, heads, dh).transpose(1, 2)
    s = qh @ kh.transpose(-1, -2) / dh**0.5
    s = s.masked_fill(keep[:, None, None, :] == 0, float("-inf"))
    p = torch.softmax(s, dim=-1)
    return (p @ vh).transpose(1, 2).reshape(B, Tq, D)


def run(q, k, v, g, B, Tq, Tk, D, heads, dtype):
    keep = torch.tensor([[1 if (b * 7 + j * 3) % 5 != 0 else 0 for j in range(Tk)] for b in range(B)])
    t = lambda x, shape, grad: torch.tensor(x, dtype=torch.float64).to(dtype).reshape(shape).requires_grad_(grad)
    qt, kt, vt = t(q, (B, Tq, D), True), t(k, (B, Tk, D), True), t(v, (B, Tk, D), True)
    out = attention(qt, kt, vt, heads, keep)
    (out * t(g, (B, Tq, D), False)).sum().backward()
    return {"out": out.detach().double(), "dq": qt.grad.double(), "dk": kt.grad.double(), "dv": vt.grad.double()}


def rel_err(a, b):
    return ((a - b).abs().max() / max(b.abs().max().item(), 1e-6)).item()


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "attention", "logit-scale.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    cases = []
    for name, seed, B, Tq, Tk, D, heads in CASES:
        for L in SCALES:
            q, k, v, g = scaled_inputs(seed, B, Tq, Tk, D, heads, L)
            ref = run(q, k, v, g, B, Tq, Tk, D, heads, torch.float64)
            f32 = run(q, k, v, g, B, Tq, Tk, D, heads, torch.float32)
            err = {t: rel_err(f32[t], ref[t]) for t in ("out", "dq", "dk", "dv")}
            cases.append({"name": name, "seed": seed, "B": B, "Tq": Tq, "Tk": Tk, "D": D, "heads": heads, "mask": True, "logits": L, "torchFloat32Err": err})
            print(name, L, " ".join(f"{t}={e:.2e}" for t, e in err.items()))
    meta = {"generator": "tools/attention_logit_scale.py", "torch": torch.__version__, "note": "PyTorch float32 vs float64, max |err| / max |ref| per tensor"}
    with open(args.out, "w") as fh:
        json.dump({"meta": meta, "cases": cases}, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
