/**
 * The alignment losses the model uses, from src/alignment (Eqs. 4–10):
 *
 *   V[i][j] = Vol(a_j, m_i^2, …, m_i^K) = √det Gram(unit vectors)   (clamped at 1e-12 before √)
 *   L_da = CE over j of −V[i][·]/τ with target i;   L_ad = CE over j of −V[·][i]ᵀ/τ, target i
 *   L_gram = L_da + L_ad
 *
 * gramLoss is src/alignment's gramContrastiveLoss (the fused backend routine); its composition
 * from engine ops is src/alignment/composed.ts (one composed GRAM loss, also the routine's
 * fallback). The cosine variant (Table 6 "w/ Cosine Similarity") is a symmetric InfoNCE between
 * the anchor and each other modality, summed over the others.
 */
import type { Tensor } from '../autograd/tensor.js';
import { tidy } from '../autograd/engine.js';
import { arange } from '../autograd/ops/creation.js';
import * as E from '../autograd/ops/elementwise.js';
import { l2Normalize } from '../autograd/ops/nn.js';
import { matmul } from '../autograd/ops/linalg.js';
import { crossEntropy } from '../autograd/ops/losses.js';
import { slice, squeeze, transpose } from '../autograd/ops/shape.js';
import { composedGramContrastiveLoss, composedGramVolumeMatrix, cosineContrastiveLoss, gramContrastiveLoss } from '../alignment/index.js';

export interface ContrastiveOptions {
  tau: number;
  labelSmoothing?: number;
}

/** Which implementation the model's alignment losses run on. */
export function alignmentBackend(): { gram: 'src/alignment' | 'composed'; cosine: 'src/alignment' | 'composed' } {
  return forceComposed ? { gram: 'composed', cosine: 'composed' } : { gram: 'src/alignment', cosine: 'src/alignment' };
}

let forceComposed = false;
/** Tests: run the composed losses (engine ops) instead of the fused routines. */
export function useComposedAlignment(flag: boolean): void {
  forceComposed = flag;
}

/** GRAM contrastive loss: anchor [B, D], others [B, K−1, D] -> scalar. */
export function gramLoss(anchor: Tensor, others: Tensor, opts: ContrastiveOptions): Tensor {
  return forceComposed ? gramLossComposed(anchor, others, opts) : gramContrastiveLoss(anchor, others, { tau: opts.tau, labelSmoothing: opts.labelSmoothing });
}

/** Cosine (pairwise InfoNCE) contrastive loss: anchor [B, D], others [B, K−1, D] -> scalar. */
export function cosineLoss(anchor: Tensor, others: Tensor, opts: ContrastiveOptions): Tensor {
  return forceComposed ? cosineLossComposed(anchor, others, opts) : cosineContrastiveLoss(anchor, others, { tau: opts.tau, labelSmoothing: opts.labelSmoothing });
}

/** Volumes V[i][j] = Vol(a_j, m_i^...) of unit vectors: [B, B] (src/alignment/composed.ts). */
export function gramVolumes(anchor: Tensor, others: Tensor): Tensor {
  return composedGramVolumeMatrix(anchor, others);
}

/** The GRAM loss from engine ops (src/alignment/composed.ts). */
export function gramLossComposed(anchor: Tensor, others: Tensor, opts: ContrastiveOptions): Tensor {
  return composedGramContrastiveLoss(anchor, others, { tau: opts.tau, labelSmoothing: opts.labelSmoothing });
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
