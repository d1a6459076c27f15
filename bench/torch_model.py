#!/usr/bin/python3
"""PyTorch CPU peer of the model benchmark (bench/suites/model.mjs): DualAlign written the way the
authors' PyTorch code is, at the paper's sizes (10 clips; video 768 / flow 1024 / CLIP 512
features; 103 CLIP frames; skeleton 160 frames x 26 joints x 3; D1 = 1024, D2 = D3 = 512; 8 heads;
5 grades; dropout 0.5), with our model's data flow (src/models/dualalign.ts, 'sequential'):

  video, flow  --Linear+GELU-->                       clip tokens [B, 10, D1]
  skeleton     --GCN 3->64->64->128 over Â (ReLU)-->  joints, then pooled to [B, 10, D1]
  SpatialEn(q = video, kv = skeleton), TemporalEn(q = that, kv = flow): pre-norm cross-attention
  with residual; Linear D1->D2 -> h_ste tokens
  image --Linear+GELU, LN, GELU, Conv1d k=3 (residual), attention pooling--> frames F, h_img
  text  --Linear+GELU--> h_txt;  EnhanceText(q = h_txt, kv = [h_img; F]);  Enhance(q = h_ste tokens, kv = [h_imt; F])
  h = mean over clips -> ETF head (fixed simplex, logit scale 1) -> cross-entropy
  L = CE + GRAM(video; flow, skeleton) + GRAM(h_ste; h_imt)  (tau = 0.1, both directions)

--skeleton authors (default): the GCN's last layer projects every joint to D1 before pooling, as the
released code does (about 2.4x this model's FLOPs in that encoder); --skeleton ours: pool joints
and frames first, then Linear 128->D1, as src/models/blocks.ts does (the same FLOPs as ours).

One training step = forward, loss, backward, SGD (momentum 0.9, weight decay 1e-4). Inference =
eval mode, no_grad forward, softmax. Times are medians of --reps after one warm-up.
Usage: /usr/bin/python3 bench/torch_model.py [--batch 8] [--reps 5] [--skeleton authors|ours] [--json]
Debian: apt-get install -y python3-torch (the system python, not a pyenv one).
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CLIPS, FPC, JOINTS, IMG_T = 10, 16, 26, 103
D1, D2, HEADS, GRADES, TAU = 1024, 512, 8, 5, 0.1
# Halpe-26 bones (the authors' 26-joint layout).
EDGES = [(0, 1), (0, 2), (1, 3), (2, 4), (0, 17), (17, 18), (18, 5), (18, 6), (5, 7), (7, 9), (6, 8), (8, 10),
         (18, 19), (19, 11), (19, 12), (11, 13), (13, 15), (12, 14), (14, 16), (15, 20), (15, 22), (15, 24),
         (16, 21), (16, 23), (16, 25)]


def adjacency():
    A = torch.eye(JOINTS)
    for i, j in EDGES:
        A[i, j] = A[j, i] = 1
    d = A.sum(1).rsqrt()
    return d[:, None] * A * d[None, :]


class GCN(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.lin = nn.Linear(cin, cout)

    def forward(self, x, A):  # x [B, T, J, C]
        return self.lin(torch.einsum('ij,btjc->btic', A, x))


class Skeleton(nn.Module):
    def __init__(self, authors):
        super().__init__()
        self.authors = authors
        self.gcn = nn.ModuleList([GCN(3, 64), GCN(64, 64), GCN(64, 128)])
        self.proj = nn.Linear(128, D1)
        self.register_buffer('A', adjacency())

    def forward(self, x):  # [B, T, J, 3]
        x = x - x.mean(2, keepdim=True)
        x = x / (x.pow(2).mean((1, 2, 3), keepdim=True) + 1e-6).sqrt()
        for g in self.gcn:
            x = F.relu(g(x, self.A))
        B, T = x.shape[:2]
        if self.authors:  # every joint of every frame projected to D1, then pooled
            x = F.gelu(self.proj(x)).mean(2)  # [B, T, D1]
            return x.view(B, CLIPS, T // CLIPS, D1).mean(2)
        x = x.mean(2).view(B, CLIPS, T // CLIPS, -1).mean(2)
        return F.gelu(self.proj(x))


class CrossAttn(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.nq, self.nkv = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mha = nn.MultiheadAttention(d, HEADS, batch_first=True)

    def forward(self, q, kv):
        k = self.nkv(kv)
        return q + self.mha(self.nq(q), k, k, need_weights=False)[0]


class TemporalModulate(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(512, D2)
        self.norm = nn.LayerNorm(D2)
        self.conv = nn.Conv1d(D2, D2, 3, padding=1)
        self.score = nn.Linear(D2, 1)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        f0 = self.drop(F.gelu(self.embed(x)))
        f = f0 + self.conv(F.gelu(self.norm(f0)).transpose(1, 2)).transpose(1, 2)
        w = torch.softmax(self.score(f), 1)
        return f, (w * f).sum(1)


def gram_volumes(a, others):
    """a [B, D], others [B, K-1, D] -> [B, B] volumes of (a_j, others_i)."""
    a = F.normalize(a, dim=-1)
    o = F.normalize(others, dim=-1)
    B, K1, _ = o.shape
    cross = torch.einsum('ikd,jd->ijk', o, a)  # [B, B, K-1]
    S = torch.einsum('ikd,ild->ikl', o, o)  # [B, K-1, K-1]
    G = torch.empty(B, B, K1 + 1, K1 + 1)
    G[:, :, 0, 0] = 1
    G[:, :, 0, 1:] = cross
    G[:, :, 1:, 0] = cross
    G[:, :, 1:, 1:] = S[:, None]
    return torch.linalg.det(G).clamp(min=1e-12).sqrt()


def gram_loss(a, others):
    logits = -gram_volumes(a, others) / TAU
    t = torch.arange(a.shape[0])
    return F.cross_entropy(logits, t) + F.cross_entropy(logits.t(), t)


def simplex_etf(G, d):
    g = torch.Generator().manual_seed(0)
    U, _ = torch.linalg.qr(torch.randn(d, G, generator=g))
    M = math.sqrt(G / (G - 1)) * U @ (torch.eye(G) - torch.ones(G, G) / G)
    return F.normalize(M.t(), dim=-1)  # [G, d]


class DualAlignTorch(nn.Module):
    def __init__(self, authors_skeleton=True):
        super().__init__()
        self.video = nn.Linear(768, D1)
        self.flow = nn.Linear(1024, D1)
        self.skeleton = Skeleton(authors_skeleton)
        self.spatial, self.temporal = CrossAttn(D1), CrossAttn(D1)
        self.stage1_out = nn.Linear(D1, D2)
        self.tm = TemporalModulate()
        self.text = nn.Linear(512, D2)
        self.enhance_text, self.enhance = CrossAttn(D2), CrossAttn(D2)
        self.drop = nn.Dropout(0.5)
        self.register_buffer('etf', simplex_etf(GRADES, D2))

    def forward(self, video, flow, skel, image, text):
        v = self.drop(F.gelu(self.video(video)))
        fl = self.drop(F.gelu(self.flow(flow)))
        sk = self.drop(self.skeleton(skel))
        vfs = gram_loss(v.mean(1), torch.stack([fl.mean(1), sk.mean(1)], 1))
        ste = self.stage1_out(self.temporal(self.spatial(v, sk), fl))  # [B, N, D2]
        frames, h_img = self.tm(image)
        txt = self.drop(F.gelu(self.text(text)))[:, None]
        imt = self.enhance_text(txt, torch.cat([h_img[:, None], frames], 1))  # [B, 1, D2]
        vit = gram_loss(ste.mean(1), imt)
        h = self.enhance(ste, torch.cat([imt, frames], 1)).mean(1)
        logits = F.normalize(h, dim=-1) @ self.etf.t()
        return logits, vfs + vit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--skeleton', choices=['authors', 'ours'], default='authors')
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B = args.batch
    model = DualAlignTorch(args.skeleton == 'authors')
    params = sum(p.numel() for p in model.parameters())
    x = (torch.randn(B, CLIPS, 768), torch.randn(B, CLIPS, 1024), torch.randn(B, CLIPS * FPC, JOINTS, 3) * 400,
         torch.randn(B, IMG_T, 512) * 0.1, torch.randn(B, 512) * 0.1)
    y = torch.arange(B) % GRADES
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9, weight_decay=1e-4)

    def train_step():
        model.train()
        logits, align = model(*x)
        loss = F.cross_entropy(logits, y) + align
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss)

    def infer():
        model.eval()
        with torch.no_grad():
            return torch.softmax(model(*x)[0], -1).sum().item()

    def timed(fn):
        fn()  # warm-up
        ts = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000)
        return statistics.median(ts), min(ts)

    tr = timed(train_step)
    inf = timed(infer)
    # What BLAS torch runs on (Debian's python3-torch with only the reference BLAS installed is slow).
    cfg = torch.__config__.show()
    blas = next((p.split('=')[1] for p in cfg.replace(',', ' ').split() if p.startswith('BLAS_INFO=')), 'unknown')
    m = torch.randn(512, 512)
    m @ m
    t0 = time.perf_counter()
    for _ in range(3):
        m @ m
    blas_gflops = 3 * 2 * 512 ** 3 / (time.perf_counter() - t0) / 1e9
    out = {
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas, 'blasGflops': blas_gflops,
        'batch': B, 'skeleton': args.skeleton, 'params': params,
        'trainMsPerSample': tr[0] / B, 'trainMinMsPerSample': tr[1] / B, 'inferMsPerSample': inf[0] / B, 'inferMinMsPerSample': inf[1] / B,
        'reps': args.reps,
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f'{k:>22}: {v:.2f}' if isinstance(v, float) else f'{k:>22}: {v}')


if __name__ == '__main__':
    main()
