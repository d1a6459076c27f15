#!/usr/bin/python3
"""PyTorch CPU column of the gram benchmark (bench/suites/gram.mjs): forward + backward of the
GRAM contrastive loss (tau = 0.1, both directions summed) in three forms:

  naive       a Python double loop over the B x B pairs, each pair's K x K Gram from stacked
              vectors and torch.linalg.det (the structure of the GRAM reference code)
  vectorized  all B x B Grams at once ([B, B, K, K] from einsum) and one batched torch.linalg.det
  closed      K = 3 only: the determinant in closed form from the six distinct Gram entries

Usage: /usr/bin/python3 bench/torch_gram.py [--json] [--cases 32,3,1024;128,3,1024] [--reps N]
Prints one JSON object {torch, threads, results: [{B, K, D, variant, ms}]} with --json.
Debian: apt-get install -y python3-torch (the system python, not a pyenv one).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

TAU = 0.1


def contrastive(V):
    B = V.shape[0]
    logits = -V / TAU
    t = torch.arange(B)
    return F.cross_entropy(logits, t) + F.cross_entropy(logits.t(), t)


def vol_naive(a, o):
    ah = F.normalize(a, dim=-1)
    mh = F.normalize(o, dim=-1)
    B = a.shape[0]
    rows = []
    for i in range(B):
        row = []
        for j in range(B):
            Vm = torch.cat([ah[j:j + 1], mh[i]], 0)  # [K, D]
            G = Vm @ Vm.t()
            row.append(torch.linalg.det(G).clamp(min=1e-12).sqrt())
        rows.append(torch.stack(row))
    return torch.stack(rows)


def grams(a, o):
    ah = F.normalize(a, dim=-1)
    mh = F.normalize(o, dim=-1)
    B, Km, _ = o.shape
    cross = torch.einsum('ikd,jd->ijk', mh, ah)
    S = torch.einsum('ikd,ild->ikl', mh, mh)
    diag = (ah * ah).sum(-1)
    return ah, mh, cross, S, diag


def vol_vectorized(a, o):
    _, _, cross, S, diag = grams(a, o)
    B, Km = o.shape[0], o.shape[1]
    row0 = torch.cat([diag[None, :, None].expand(B, B, 1), cross], -1)
    rest = torch.cat([cross.unsqueeze(-1), S[:, None].expand(B, B, Km, Km)], -1)
    G = torch.cat([row0.unsqueeze(2), rest], 2)
    return torch.linalg.det(G).clamp(min=1e-12).sqrt()


def vol_closed(a, o):
    if o.shape[1] != 2:
        return None
    _, _, cross, S, diag = grams(a, o)
    g00 = diag[None, :]
    g01 = cross[..., 0]
    g02 = cross[..., 1]
    g11 = S[:, 0, 0][:, None]
    g12 = S[:, 0, 1][:, None]
    g22 = S[:, 1, 1][:, None]
    det = g00 * (g11 * g22 - g12 * g12) - g01 * (g01 * g22 - g12 * g02) + g02 * (g01 * g12 - g11 * g02)
    return det.clamp(min=1e-12).sqrt()


VARIANTS = {'naive': vol_naive, 'vectorized': vol_vectorized, 'closed': vol_closed}


def time_variant(fn, B, K, D, reps):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(B, D, generator=g, requires_grad=True)
    o = torch.randn(B, K - 1, D, generator=g, requires_grad=True)

    def step():
        a.grad = None
        o.grad = None
        V = fn(a, o)
        if V is None:
            return False
        contrastive(V).backward()
        return True

    if not step():
        return None
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--cases', default='32,3,1024;128,3,1024;256,3,1024;1024,3,512;32,4,512')
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--naive-max-pairs', type=int, default=128 * 128, help='skip the naive loop above this many pairs')
    args = ap.parse_args()
    results = []
    for case in args.cases.split(';'):
        B, K, D = (int(x) for x in case.split(','))
        for name, fn in VARIANTS.items():
            if name == 'naive' and B * B > args.naive_max_pairs:
                ms = None
            else:
                ms = time_variant(fn, B, K, D, 1 if name == 'naive' and B > 32 else args.reps)
            results.append(dict(B=B, K=K, D=D, variant=name, ms=ms))
            if not args.json:
                print(f'B={B} K={K} D={D} {name:>10}: ' + ('n/a' if ms is None else f'{ms:.2f} ms'))
    if args.json:
        print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads(), results=results)))


if __name__ == '__main__':
    main()
