#!/usr/bin/python3
"""Golden values for the Gram-volume alignment losses, from PyTorch in float64.

Writes test/fixtures/gram/golden.json. Inputs are not stored: each case stores its seed and
shape, and test/gram/helpers.ts regenerates the identical float64 inputs with the same
generator (mulberry32 -> uniform [-1, 1), mixed as below). Only sampled entries of V and of the
gradients are stored (plus their sums and squared norms), to keep the fixture small.

    a_i  = z_i + noise * n_i           (anchor, [B, D])
    m_ik = z_i + noise * n_ik          (others, [B, K-1, D])
    draws, row-major: z (B*D), then n (B*D), then n_ik (B*(K-1)*D)

Reference math (torch.linalg.det + autograd):
    â = F.normalize(a, eps), m̂ = F.normalize(m, eps)
    G[i, j] = Gram(â_j, m̂_i1, ..., m̂_i(K-1)),  V = sqrt(clamp(det G, 1e-12))
    loss = CE(-V/tau, arange) + CE((-V/tau)^T, arange)   (x 1/2 for reduction 'mean'),
    with label smoothing as F.cross_entropy's.

Usage: /usr/bin/python3 tools/gram_golden.py [--out test/fixtures/gram/golden.json]
(Debian: apt-get install -y python3-torch; the system python, not a pyenv one)
"""
import argparse
import json
import os

import torch
import torch.nn.functional as F
from mulberry32 import mulberry32  # tools/mulberry32.py: the tests' generator

torch.set_default_dtype(torch.float64)


def gram_inputs(seed, B, K, D, noise):
    r = mulberry32(seed)
    Km = K - 1
    z = [2.0 * r() - 1.0 for _ in range(B * D)]
    na = [2.0 * r() - 1.0 for _ in range(B * D)]
    no = [2.0 * r() - 1.0 for _ in range(B * Km * D)]
    a = [z[e] + noise * na[e] for e in range(B * D)]
    o = []
    for i in range(B):
        for k in range(Km):
            for d in range(D):
                o.append(z[i * D + d] + noise * no[(i * Km + k) * D + d])
    return torch.tensor(a).reshape(B, D), torch.tensor(o).reshape(B, Km, D)


def gram_volume(a, o, eps=1e-12):
    ah = F.normalize(a, dim=-1, eps=eps)
    mh = F.normalize(o, dim=-1, eps=eps)
    B, Km, _ = o.shape
    cross = torch.einsum('ikd,jd->ijk', mh, ah)  # [B(i), B(j), Km]
    S = torch.einsum('ikd,ild->ikl', mh, mh)  # [B, Km, Km]
    diag = (ah * ah).sum(-1)  # [B(j)]
    row0 = torch.cat([diag[None, :, None].expand(B, B, 1), cross], -1)  # [B, B, K]
    rest = torch.cat([cross.unsqueeze(-1), S[:, None].expand(B, B, Km, Km)], -1)  # [B, B, Km, K]
    G = torch.cat([row0.unsqueeze(2), rest], 2)  # [B, B, K, K]
    return torch.linalg.det(G).clamp(min=1e-12).sqrt()


def gram_loss(V, tau, smoothing, reduction):
    B = V.shape[0]
    logits = -V / tau
    t = torch.arange(B)
    l = F.cross_entropy(logits, t, label_smoothing=smoothing) + F.cross_entropy(logits.t(), t, label_smoothing=smoothing)
    return l / 2 if reduction == 'mean' else l


def sample_indices(n, count=48):
    if n <= count:
        return list(range(n))
    step = n / count
    return sorted(set(int(i * step) for i in range(count)) | {n - 1})


CASES = [
    dict(name='k2_small', seed=11, B=6, K=2, D=16, noise=0.5, tau=0.1, smoothing=0.0, reduction='sum'),
    dict(name='k3_paper', seed=12, B=32, K=3, D=1024, noise=0.7, tau=0.1, smoothing=0.0, reduction='sum'),
    dict(name='k4_gram_settings', seed=13, B=24, K=4, D=96, noise=0.6, tau=0.07, smoothing=0.1, reduction='mean'),
    dict(name='k8_small', seed=14, B=10, K=8, D=40, noise=0.8, tau=0.2, smoothing=0.0, reduction='sum'),
    dict(name='k8_mid', seed=15, B=48, K=8, D=256, noise=1.0, tau=0.1, smoothing=0.05, reduction='sum'),
    dict(name='k3_b256', seed=16, B=256, K=3, D=1024, noise=1.0, tau=0.1, smoothing=0.0, reduction='sum'),
    dict(name='k2_b128_d1024', seed=17, B=128, K=2, D=1024, noise=0.9, tau=0.1, smoothing=0.0, reduction='mean'),
    dict(name='k4_odd_d', seed=18, B=20, K=4, D=37, noise=0.5, tau=0.1, smoothing=0.0, reduction='sum'),
]


def run_case(c):
    a, o = gram_inputs(c['seed'], c['B'], c['K'], c['D'], c['noise'])
    a.requires_grad_(True)
    o.requires_grad_(True)
    V = gram_volume(a, o)
    loss = gram_loss(V, c['tau'], c['smoothing'], c['reduction'])
    loss.backward()
    Vf = V.detach().reshape(-1)
    gA = a.grad.reshape(-1)
    gO = o.grad.reshape(-1)
    B = c['B']
    vidx = sorted(set(sample_indices(B * B, 40)) | {i * B + i for i in range(min(B, 8))})
    out = dict(c)
    out['loss'] = loss.item()
    out['V'] = dict(index=vidx, value=[Vf[i].item() for i in vidx], sum=Vf.sum().item())
    for name, g in (('gradAnchor', gA), ('gradOthers', gO)):
        idx = sample_indices(g.numel())
        out[name] = dict(index=idx, value=[g[i].item() for i in idx], sum=g.sum().item(), sumsq=(g * g).sum().item(), absmax=g.abs().max().item())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'gram', 'golden.json'))
    args = ap.parse_args()
    cases = [run_case(c) for c in CASES]
    doc = dict(
        generator='tools/gram_golden.py',
        torch=torch.__version__,
        dtype='float64',
        inputs='regenerated from seed: mulberry32 uniform [-1,1); a = z + noise*n_a, m_k = z + noise*n_k',
        cases=cases,
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    print(f'wrote {len(cases)} cases to {args.out}')


if __name__ == '__main__':
    main()
