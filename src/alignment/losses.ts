/**
 * The alignment losses of DualAlign §3.2–3.3 and their ablation baselines:
 *   gramContrastiveLoss   L_gram = L_da + L_ad (Eqs. 4–10, 15): contrastive softmax over −V/τ
 *   cosineContrastiveLoss the same two-direction softmax over the mean cosine to the anchor
 *   oneStageGramLoss      every modality in one Gram (the one-stage GRAM variant of the ablation)
 * Defaults follow the DualAlign paper (τ = 0.1, the two directions summed, no smoothing); the GRAM
 * reference setting is { reduction: 'mean', labelSmoothing: 0.1 }.
 */
import { ShapeError, shapeStr } from '../gpu/errors.js';
import { tidy } from '../autograd/engine.js';
import type { Tensor } from '../autograd/tensor.js';
import * as E from '../autograd/ops/elementwise.js';
import { mean, sum } from '../autograd/ops/reduce.js';
import { stack, transpose } from '../autograd/ops/shape.js';
import { matmul } from '../autograd/ops/linalg.js';
import {
  checkContrastiveOpts,
  checkEps,
  checkGramInputs,
  contrastiveSoftmaxLoss,
  fusedGramContrastiveLoss,
  gramVolumeMatrix,
  isTensor,
  MAX_MODALITIES,
  NORM_EPS,
  DEFAULT_TAU,
  type ContrastiveReduction,
} from './ops.js';

export interface AlignmentLossOptions {
  /**
   * Temperature τ; default 0.1. A number keeps the loss one fused node. A one-element float
   * Tensor is used as τ itself (gradients flow to it; keep it positive). Ignored when
   * learnableTau is given.
   */
  tau?: number | Tensor;
  /**
   * A learnable temperature, log-parametrized: a one-element float tensor holding log τ (create
   * it with requiresGrad, e.g. `tensor([Math.log(0.1)], [1], { requiresGrad: true })`); τ =
   * exp(learnableTau) is positive for any value and receives its gradient. The logit scaling then
   * runs as engine ops (the volumes still come from the fused kernel).
   */
  learnableTau?: Tensor;
  /** Label smoothing ε of both directions; default 0 (GRAM uses 0.1). */
  labelSmoothing?: number;
  /** 'sum' of the two directions (DualAlign, default) or their 'mean' (GRAM). */
  reduction?: ContrastiveReduction;
  /** eps of the normalization x / max(‖x‖, eps); default 1e-12. */
  eps?: number;
}

interface Resolved {
  /** The fixed temperature, or null when τ is a tensor (tauTensor builds it). */
  tau: number | null;
  tauTensor: (() => Tensor) | null;
  labelSmoothing: number;
  reduction: ContrastiveReduction;
  eps: number;
}

function oneElementFloat(op: string, what: string, t: unknown): Tensor {
  if (!isTensor(t) || t.size !== 1 || t.dtype === 'int32') {
    throw new ShapeError(`${op}: ${what} must be a one-element float tensor, got ${isTensor(t) ? t.describe() : typeof t}`);
  }
  return t;
}

function resolve(op: string, opts: AlignmentLossOptions): Resolved {
  const { tau = DEFAULT_TAU, labelSmoothing = 0, reduction = 'sum', eps = NORM_EPS } = opts;
  checkContrastiveOpts(op, labelSmoothing, reduction);
  checkEps(op, eps);
  const scalar = (t: Tensor) => (t.rank === 0 ? t : t.reshape([]));
  if (opts.learnableTau !== undefined) {
    const lt = oneElementFloat(op, 'learnableTau (log τ)', opts.learnableTau);
    return { tau: null, tauTensor: () => E.exp(scalar(lt)), labelSmoothing, reduction, eps };
  }
  if (isTensor(tau)) {
    const t = oneElementFloat(op, 'tau', tau);
    return { tau: null, tauTensor: () => scalar(t), labelSmoothing, reduction, eps };
  }
  if (!(typeof tau === 'number' && tau > 0 && Number.isFinite(tau))) throw new ShapeError(`${op}: tau must be a positive finite number, got ${tau}`);
  return { tau, tauTensor: null, labelSmoothing, reduction, eps };
}

/** x · (sign / τ): a fused constant for a number, engine ops (gradient to τ) for a tensor. */
function scaleByTau(x: Tensor, o: Resolved, sign: number): Tensor {
  if (o.tau !== null) return E.mul(x, sign / o.tau);
  return E.div(sign < 0 ? E.neg(x) : x, o.tauTensor!());
}

/**
 * The GRAM alignment loss L_gram = L_da + L_ad (DualAlign Definition 1, Eqs. 4–10; Eq. 15 with
 * K = 2): contrastiveSoftmaxLoss(−V / τ) with V = gramVolumeMatrix(anchor, others).
 * anchor [B, D]; others [B, K−1, D] (2 ≤ K ≤ 8; a [B, D] tensor is K = 2).
 * With a fixed τ the whole loss is one fused autograd node: 2 forward + 3 backward GPU dispatches
 * for small problems (B²·(K−1)·D below 8M multiply-adds), matmuls with small epilogues above.
 */
export function gramContrastiveLoss(anchor: Tensor, others: Tensor, opts: AlignmentLossOptions = {}): Tensor {
  const op = 'gramContrastiveLoss';
  const s = checkGramInputs(op, anchor, others);
  const o = resolve(op, opts);
  if (o.tau !== null) {
    return fusedGramContrastiveLoss(op, anchor, others, s, { scale: -1 / o.tau, labelSmoothing: o.labelSmoothing, reduction: o.reduction, eps: o.eps });
  }
  return tidy(() => {
    const V = gramVolumeMatrix(anchor, others, { eps: o.eps });
    return contrastiveSoftmaxLoss(scaleByTau(V, o, -1), { labelSmoothing: o.labelSmoothing, reduction: o.reduction });
  });
}

/** x / max(‖x‖₂, eps) along the last axis, NaN-free at x = 0 (gradient 1/eps there). */
export function safeL2Normalize(x: Tensor, eps = NORM_EPS): Tensor {
  return tidy(() => {
    const n2 = sum(E.mul(x, x), -1, true);
    return E.div(x, E.sqrt(E.maximum(n2, eps * eps)));
  });
}

/**
 * Ablation baseline: the same two-direction contrastive softmax with logits
 * mean_k cos(a_j, m_i^k) / τ (row i: sample i's other modalities, column j: anchor j) in place
 * of −Vol/τ. Same arguments and options as gramContrastiveLoss; engine ops on both backends.
 */
export function cosineContrastiveLoss(anchor: Tensor, others: Tensor, opts: AlignmentLossOptions = {}): Tensor {
  const op = 'cosineContrastiveLoss';
  const s = checkGramInputs(op, anchor, others);
  const o = resolve(op, opts);
  return tidy(() => {
    const ah = safeL2Normalize(anchor, o.eps);
    const mh = safeL2Normalize(others.rank === 2 ? others.reshape([s.B, 1, s.D]) : others, o.eps);
    const mbar = mean(mh, 1);
    const cos = matmul(mbar, transpose(ah));
    const logits = scaleByTau(cos, o, 1);
    return contrastiveSoftmaxLoss(logits, { labelSmoothing: o.labelSmoothing, reduction: o.reduction });
  });
}

/**
 * Ablation baseline (one-stage GRAM): every modality in one Gram, modalities[0] the anchor:
 * gramContrastiveLoss(modalities[0], stack(modalities[1..], 1)). Each modality is [B, D];
 * 2 to 8 of them.
 */
export function oneStageGramLoss(modalities: Tensor[], opts: AlignmentLossOptions = {}): Tensor {
  const op = 'oneStageGramLoss';
  if (!Array.isArray(modalities)) throw new ShapeError(`${op}: modalities must be an array of [B, D] tensors (the first is the anchor)`);
  if (modalities.length < 2 || modalities.length > MAX_MODALITIES) {
    throw new ShapeError(`${op}: ${modalities.length} modalities given; one Gram takes 2..${MAX_MODALITIES} (the first is the anchor)`);
  }
  modalities.forEach((m, k) => {
    if (!isTensor(m)) throw new ShapeError(`${op}: modalities[${k}] is not a Tensor`);
    if (m.rank !== 2) throw new ShapeError(`${op}: modalities[${k}] must be [B, D], got ${m.describe()}`);
    const [B, D] = modalities[0].shape;
    if (m.shape[0] !== B || m.shape[1] !== D) {
      throw new ShapeError(`${op}: modalities[${k}] ${shapeStr(m.shape)} differs from modalities[0] ${shapeStr(modalities[0].shape)} (all must be [B, D])`);
    }
    if (m.dtype === 'int32') throw new ShapeError(`${op}: modalities[${k}] must be a float tensor, got int32 ${shapeStr(m.shape)}`);
  });
  return tidy(() => gramContrastiveLoss(modalities[0], stack(modalities.slice(1), 1), opts));
}
