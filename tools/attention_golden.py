#!/usr/bin/python3
"""Golden values for crossAttention (multi-head scaled-dot-product attention with a key mask),
from PyTorch in float64.

Writes test/fixtures/attention/golden.json. Inputs are not stored: each case stores its seed and
shape, and test/attention/helpers.ts regenerates the identical float64 inputs with the same
generator (mulberry32 -> uniform [-1, 1) times `mult`), drawn row-major in the order q (B*Tq*D),
k (B*Tk*D), v (B*Tk*D), g (B*Tq*D; the upstream gradient). The key mask, when a case has one, is
keep[b, j] = (b*7 + j*3) % 5 != 0, and batch 1 is masked entirely when `allMasked`.

Reference math, per head h (columns h*D/H .. (h+1)*D/H):
    S = q_h k_hᵀ / sqrt(D/H) + (0 where kept, -inf where masked)
    P = softmax(S) (a row with every key masked is all zeros), out_h = P v_h
    loss = sum(out * g)  ->  dq, dk, dv by autograd
Small tensors are stored whole; larger ones as their sum, sum of squares and evenly spaced
samples, to keep the fixture small.

Usage: /usr/bin/python3 tools/attention_golden.py [--out test/fixtures/attention/golden.json]
(Debian: apt-get install -y python3-torch; the system python, not a pyenv one)
"""
import argparse
import json
import os

import torch
from mulberry32 import mulberry32  # tools/mulberry32.py: the tests' generator

torch.set_default_dtype(torch.float64)

# (name, B, Tq, Tk, D, heads, mask, allMasked, mult)
CASES = [
    ("basic", 2, 5, 7, 32, 2, False, False, 1.0),
    ("masked", 2, 5, 7, 32, 2, True, False, 1.0),
    ("all-masked-batch", 2, 4, 6, 32, 2, True, True, 1.0),
    ("single", 1, 1, 1, 16, 1, False, False, 1.0),
    ("one-head", 2, 9, 13, 32, 1, True, False, 1.0),
    ("three-heads", 3, 8, 12, 48, 3, True, False, 1.0),
    ("len7x103", 2, 7, 103, 64, 4, True, False, 1.0),
    ("len103x7", 1, 103, 7, 64, 2, False, False, 1.0),
    ("head128", 1, 17, 33, 128, 1, True, False, 1.0),
    ("large-logits", 2, 6, 10, 32, 2, True, False, 30.0),
]

SAMPLES = 48
WHOLE = 256


def draw(r, n, mult):
    return torch.tensor([(r() * 2 - 1) * mult for _ in range(n)])


def key_keep(B, Tk, all_masked):
    keep = torch.tensor([[1 if (b * 7 + j * 3) % 5 != 0 else 0 for j in range(Tk)] for b in range(B)])
    if all_masked and B > 1:
        keep[1, :] = 0
    return keep


def attention(q, k, v, heads, keep):
    B, Tq, D = q.shape
    Tk = k.shape[1]
    dh = D // heads
    qh = q.view(B, Tq, heads, dh).transpose(1, 2)
    kh = k.view(B, Tk, heads, dh).transpose(1, 2)
    vh = v.view(B, Tk, heads, dh).transpose(1, 2)
    s = qh @ kh.transpose(-1, -2) / dh**0.5
    if keep is not None:
        s = s.masked_fill(keep[:, None, None, :] == 0, float("-inf"))
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)  # rows with no key: 0, not NaN
    return (p @ vh).transpose(1, 2).reshape(B, Tq, D)


def summarize(t):
    flat = t.detach().reshape(-1)
    n = flat.numel()
    out = {"sum": flat.sum().item(), "sumsq": (flat * flat).sum().item()}
    if n <= WHOLE:
        out["values"] = flat.tolist()
    else:
        idx = sorted({(i * (n - 1)) // (SAMPLES - 1) for i in range(SAMPLES)})
        out["samples"] = [[i, flat[i].item()] for i in idx]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "attention", "golden.json"))
    args = ap.parse_args()
    cases = []
    for seed, (name, B, Tq, Tk, D, H, mask, all_masked, mult) in enumerate(CASES, start=1001):
        r = mulberry32(seed)
        q = draw(r, B * Tq * D, mult).view(B, Tq, D).requires_grad_()
        k = draw(r, B * Tk * D, mult).view(B, Tk, D).requires_grad_()
        v = draw(r, B * Tk * D, mult).view(B, Tk, D).requires_grad_()
        g = draw(r, B * Tq * D, 1.0).view(B, Tq, D)
        keep = key_keep(B, Tk, all_masked) if mask else None
        out = attention(q, k, v, H, keep)
        (out * g).sum().backward()
        cases.append(
            {
                "name": name,
                "seed": seed,
                "B": B,
                "Tq": Tq,
                "Tk": Tk,
                "D": D,
                "heads": H,
                "mask": mask,
                "allMasked": all_masked,
                "mult": mult,
                "out": summarize(out),
                "dq": summarize(q.grad),
                "dk": summarize(k.grad),
                "dv": summarize(v.grad),
            }
        )
    doc = {"generator": "tools/attention_golden.py", "torch": torch.__version__, "cases": cases}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"wrote {len(cases)} cases to {args.out}")


if __name__ == "__main__":
    main()
