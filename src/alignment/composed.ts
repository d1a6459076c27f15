/**
 * The unfused composition of the Gram-contrastive loss from plain engine ops (normalize ->
 * cross and per-sample Grams by matmul -> a Laplace-expansion determinant of [B, B] entry
 * tensors -> sqrt(max(det, 1e-12)) -> crossEntropy in both directions). K ≤ 4 only.
 * It is an independent check of the fused kernels (tests), baseline (a) of bench/suites/gram.mjs,
 * and the fallback of a backend that declines the GRAM / contrastive routines (./ops.ts). The
 * model's losses (src/models/losses.ts) use these too: one composed GRAM loss.
 */
import { ShapeError } from '../gpu/errors.js';
import { tidy } from '../autograd/engine.js';
import type { Tensor } from '../autograd/tensor.js';
import * as E from '../autograd/ops/elementwise.js';
import { sum } from '../autograd/ops/reduce.js';
import { reshape, slice, transpose } from '../autograd/ops/shape.js';
import { matmul } from '../autograd/ops/linalg.js';
import { crossEntropy } from '../autograd/ops/losses.js';
import { arange } from '../autograd/ops/creation.js';
import { safeL2Normalize } from './losses.js';
import { DEFAULT_TAU, NORM_EPS } from './ops.js';

/** det of an n×n matrix of broadcastable entry tensors, by cofactor expansion along the first row. */
export function laplaceDet(m: Tensor[][]): Tensor {
  const n = m.length;
  if (n === 1) return m[0][0];
  if (n === 2) return E.sub(E.mul(m[0][0], m[1][1]), E.mul(m[0][1], m[1][0]));
  let acc: Tensor | null = null;
  for (let c = 0; c < n; c++) {
    const minor = m.slice(1).map((row) => row.filter((_, k) => k !== c));
    const term = E.mul(m[0][c], laplaceDet(minor));
    acc = acc === null ? term : c % 2 === 0 ? E.add(acc, term) : E.sub(acc, term);
  }
  return acc!;
}

/** gramVolumeMatrix from engine ops (anchor [B, D], others [B, K−1, D], K ≤ 4). */
export function composedGramVolumeMatrix(anchor: Tensor, others: Tensor, eps = NORM_EPS): Tensor {
  const [B, D] = anchor.shape;
  const o3 = others.rank === 2 ? reshape(others, [B, 1, D]) : others;
  const Km = o3.shape[1];
  if (Km + 1 > 4) throw new ShapeError(`composedGramVolumeMatrix: the Laplace composition covers K ≤ 4, got K = ${Km + 1}`);
  return tidy(() => {
    const ah = safeL2Normalize(anchor, eps);
    const mh = safeL2Normalize(o3, eps);
    // C[i, k, j] = m̂_ik · â_j
    const C = reshape(matmul(reshape(mh, [B * Km, D]), transpose(ah)), [B, Km, B]);
    const S = matmul(mh, transpose(mh, 1, 2)); // [B, Km, Km]
    const diagA = reshape(sum(E.mul(ah, ah), -1), [1, B]);
    const K = Km + 1;
    const G: Tensor[][] = Array.from({ length: K }, () => new Array<Tensor>(K));
    G[0][0] = diagA;
    for (let k = 1; k < K; k++) {
      const c = reshape(slice(C, 1, k - 1, k), [B, B]);
      G[0][k] = c;
      G[k][0] = c;
      for (let l = 1; l < K; l++) G[k][l] = reshape(slice(slice(S, 1, k - 1, k), 2, l - 1, l), [B, 1]);
    }
    return E.sqrt(E.maximum(laplaceDet(G), 1e-12));
  });
}

/** The two-direction contrastive softmax from engine ops: factor · (CE over rows + CE over columns), diagonal targets. */
export function composedContrastiveLoss(logits: Tensor, labelSmoothing = 0, factor = 1): Tensor {
  const B = logits.shape[0];
  return tidy(() => {
    const target = arange(0, B, 1, { backend: logits.backend, dtype: 'int32' });
    const l = E.add(crossEntropy(logits, target, { labelSmoothing }), crossEntropy(transpose(logits), target, { labelSmoothing }));
    return factor === 1 ? l : E.mul(l, factor);
  });
}

/** gramContrastiveLoss from engine ops: CE(−V/τ) over rows + over columns (× 1/2 for 'mean'). */
export function composedGramContrastiveLoss(
  anchor: Tensor,
  others: Tensor,
  opts: { tau?: number; labelSmoothing?: number; reduction?: 'sum' | 'mean'; eps?: number } = {},
): Tensor {
  const { tau = DEFAULT_TAU, labelSmoothing = 0, reduction = 'sum', eps = NORM_EPS } = opts;
  return tidy(() => composedContrastiveLoss(E.mul(composedGramVolumeMatrix(anchor, others, eps), -1 / tau), labelSmoothing, reduction === 'mean' ? 0.5 : 1));
}
