/**
 * The alignment losses the model uses. They call src/alignment (the fused Gram-volume kernels)
 * when it exports them, and otherwise a composed version built from tensor ops here, with the
 * same definition (Eqs. 4–10):
 *
 *   V[i][j] = Vol(a_j, m_i^2, …, m_i^K) = √det Gram(unit vectors)   (clamped at 1e-12 before √)
 *   L_da = CE over j of −V[i][·]/τ with target i;   L_ad = CE over j of −V[·][i]ᵀ/τ, target i
 *   L_gram = L_da + L_ad
 *
 * The cosine variant (Table 6 "w/ Cosine Similarity") is a symmetric InfoNCE between the
 * anchor and each other modality, summed over the others.
 */
import type { Tensor } from '../autograd/tensor.js';
import { tidy } from '../autograd/engine.js';
import { arange } from '../autograd/ops/creation.js';
import * as E from '../autograd/ops/elementwise.js';
import { sum } from '../autograd/ops/reduce.js';
import { l2Normalize } from '../autograd/ops/nn.js';
import { matmul } from '../autograd/ops/linalg.js';
import { crossEntropy } from '../autograd/ops/losses.js';
import { reshape, slice, squeeze, transpose } from '../autograd/ops/shape.js';
import * as Alignment from '../alignment/index.js';

export interface ContrastiveOptions {
  tau: number;
  labelSmoothing?: number;
}

type AlignFn = (anchor: Tensor, others: Tensor, opts: { tau?: number | Tensor; labelSmoothing?: number }) => Tensor;

function external(name: 'gramContrastiveLoss' | 'cosineContrastiveLoss'): AlignFn | null {
  const f = (Alignment as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as AlignFn) : null;
}

/** Which implementation the model's alignment losses run on. */
export function alignmentBackend(): { gram: 'src/alignment' | 'composed'; cosine: 'src/alignment' | 'composed' } {
  return { gram: external('gramContrastiveLoss') ? 'src/alignment' : 'composed', cosine: external('cosineContrastiveLoss') ? 'src/alignment' : 'composed' };
}

let forceComposed = false;
/** Tests: run the composed losses even when src/alignment provides fused ones. */
export function useComposedAlignment(flag: boolean): void {
  forceComposed = flag;
}

/** GRAM contrastive loss: anchor [B, D], others [B, K−1, D] -> scalar. */
export function gramLoss(anchor: Tensor, others: Tensor, opts: ContrastiveOptions): Tensor {
  const ext = forceComposed ? null : external('gramContrastiveLoss');
  if (ext) return ext(anchor, others, { tau: opts.tau, labelSmoothing: opts.labelSmoothing });
  return gramLossComposed(anchor, others, opts);
}

/** Cosine (pairwise InfoNCE) contrastive loss: anchor [B, D], others [B, K−1, D] -> scalar. */
export function cosineLoss(anchor: Tensor, others: Tensor, opts: ContrastiveOptions): Tensor {
  const ext = forceComposed ? null : external('cosineContrastiveLoss');
  if (ext) return ext(anchor, others, { tau: opts.tau, labelSmoothing: opts.labelSmoothing });
  return cosineLossComposed(anchor, others, opts);
}

/** Determinant of the sub-matrix (rows × cols) of broadcastable tensor entries, by cofactor expansion (no division). */
function detGeneral(m: (i: number, j: number) => Tensor | number, rows: number[], cols: number[]): Tensor | number {
  if (rows.length === 1) return m(rows[0], cols[0]);
  let acc: Tensor | number = 0;
  const r = rows[0];
  cols.forEach((c, k) => {
    const term = mulT(m(r, c), detGeneral(m, rows.slice(1), cols.filter((x) => x !== c)));
    acc = k % 2 === 0 ? add(acc, term) : sub(acc, term);
  });
  return acc;
}

function mulT(a: Tensor | number, b: Tensor | number): Tensor | number {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  return E.mul(a, b);
}
function add(a: Tensor | number, b: Tensor | number): Tensor | number {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  return E.add(a, b);
}
function sub(a: Tensor | number, b: Tensor | number): Tensor | number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === 0) return typeof b === 'number' ? -b : E.neg(b);
  return E.sub(a, b);
}

/** Volumes V[i][j] = Vol(a_j, m_i^...) of unit vectors: [B, B]. */
export function gramVolumes(anchor: Tensor, others: Tensor): Tensor {
  const [B, K1] = others.shape;
  return tidy(() => {
    const a = l2Normalize(anchor, -1); // [B, D]
    const ms = Array.from({ length: K1 }, (_, k) => l2Normalize(squeeze(slice(others, 1, k, k + 1), 1), -1)); // K1 × [B, D]
    // entry(0,0) = 1; entry(0,k) = <a_j, m_i^k> = (M_k aᵀ)[i][j]; entry(k,l) = <m_i^k, m_i^l> as [B, 1]
    const cross = ms.map((m) => matmul(m, transpose(a))); // [B(i), B(j)]
    const inner = (k: number, l: number) => (k === l ? 1 : reshape(sum(E.mul(ms[k], ms[l]), -1), [B, 1]));
    const cache = new Map<string, Tensor | number>();
    const entry = (i: number, j: number): Tensor | number => {
      const key = i <= j ? `${i},${j}` : `${j},${i}`;
      if (!cache.has(key)) {
        const [p, q] = i <= j ? [i, j] : [j, i];
        cache.set(key, p === 0 ? (q === 0 ? 1 : cross[q - 1]) : inner(p - 1, q - 1));
      }
      return cache.get(key)!;
    };
    const det = detGeneral(entry, [...Array(K1 + 1).keys()], [...Array(K1 + 1).keys()]);
    const detT = typeof det === 'number' ? E.add(E.mul(cross[0], 0), det) : det;
    return E.sqrt(E.maximum(detT, 1e-12));
  });
}

export function gramLossComposed(anchor: Tensor, others: Tensor, opts: ContrastiveOptions): Tensor {
  const B = anchor.shape[0];
  return tidy(() => {
    const V = gramVolumes(anchor, others); // [i, j]
    const logits = E.mul(V, -1 / opts.tau);
    const target = arange(B, undefined, 1, { backend: anchor.backend, dtype: 'int32' });
    const ls = opts.labelSmoothing ?? 0;
    return E.add(crossEntropy(logits, target, { labelSmoothing: ls }), crossEntropy(transpose(logits), target, { labelSmoothing: ls }));
  });
}

export function cosineLossComposed(anchor: Tensor, others: Tensor, opts: ContrastiveOptions): Tensor {
  const [B, K1] = others.shape;
  return tidy(() => {
    const a = l2Normalize(anchor, -1);
    const target = arange(B, undefined, 1, { backend: anchor.backend, dtype: 'int32' });
    const ls = opts.labelSmoothing ?? 0;
    let total: Tensor | null = null;
    for (let k = 0; k < K1; k++) {
      const m = l2Normalize(squeeze(slice(others, 1, k, k + 1), 1), -1);
      const s = E.mul(matmul(m, transpose(a)), 1 / opts.tau);
      const l = E.add(crossEntropy(s, target, { labelSmoothing: ls }), crossEntropy(transpose(s), target, { labelSmoothing: ls }));
      total = total ? E.add(total, l) : l;
    }
    return total!;
  });
}

