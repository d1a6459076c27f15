#!/usr/bin/python3
"""PyTorch CPU column of the attention benchmark (bench/suites/attention.mjs): the attention core
(heads split, q kᵀ · scale, softmax, · v, heads merged) in float32 on the CPU, forward and
forward + backward (loss = sum(out * g)), for each case [B, Tq, Tk, D, heads].

Usage: /usr/bin/python3 bench/torch_attention.py [--json] [--cases 32,103,103,1024,8;4,1024,1024,512,8] [--reps N]
Prints one JSON object {torch, threads, results: [{case, fwd_ms, fwdbwd_ms}]} with --json (medians).
Debian: apt-get install -y python3-torch (the system python, not a pyenv one).
"""
import argparse
import json
import os
import statistics
import time

import torch


def attention(q, k, v, heads):
    B, Tq, D = q.shape
    Tk = k.shape[1]
    dh = D // heads
    qh = q.view(B, Tq, heads, dh).transpose(1, 2)
    kh = k.view(B, Tk, heads, dh).transpose(1, 2)
    vh = v.view(B, Tk, heads, dh).transpose(1, 2)
    p = torch.softmax(qh @ kh.transpose(-1, -2) * dh**-0.5, dim=-1)
    return (p @ vh).transpose(1, 2).reshape(B, Tq, D)


def median_ms(fn, reps):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cases", default="32,103,103,1024,8;4,1024,1024,512,8")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads (Debian's torch starts with 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "results": []}
    for spec in args.cases.split(";"):
        B, Tq, Tk, D, H = (int(x) for x in spec.split(","))
        q = torch.randn(B, Tq, D)
        k = torch.randn(B, Tk, D)
        v = torch.randn(B, Tk, D)
        g = torch.randn(B, Tq, D)

        def fwd():
            with torch.no_grad():
                attention(q, k, v, H)

        qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))

        def fwdbwd():
            qg.grad = kg.grad = vg.grad = None
            (attention(qg, kg, vg, H) * g).sum().backward()

        out["results"].append({"case": [B, Tq, Tk, D, H], "fwd_ms": median_ms(fwd, args.reps), "fwdbwd_ms": median_ms(fwdbwd, args.reps)})
    if args.json:
        print(json.dumps(out))
    else:
        for r in out["results"]:
            print(f"{r['case']}: forward {r['fwd_ms']:.1f} ms, forward+backward {r['fwdbwd_ms']:.1f} ms (torch {out['torch']}, {out['threads']} threads)")


if __name__ == "__main__":
    main()
