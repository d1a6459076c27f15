/**
 * The fused alignment ops: gramVolumeMatrix and contrastiveSoftmaxLoss, plus the internal fused
 * Gram-contrastive loss node. Each is a backend routine (src/backend/routines.ts): WebGPU runs
 * wgsl/gram.wgsl and wgsl/contrastive.wgsl, the CPU the float64 loops of ./reference.ts (the
 * oracle); a backend that declines gets the composition of engine ops in ./composed.ts.
 */
import type { ContrastiveParams, GramShape } from '../backend/routines.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import { dense, runRoutine } from '../autograd/routine.js';
import { tidy } from '../autograd/engine.js';
import type { Tensor } from '../autograd/tensor.js';
import * as E from '../autograd/ops/elementwise.js';
import { composedContrastiveLoss, composedGramVolumeMatrix } from './composed.js';

export type { GramShape } from '../backend/routines.js';

/** Default eps of the L2 normalization x / max(‖x‖, eps) (PyTorch's F.normalize). */
export const NORM_EPS = 1e-12;
/** Default temperature τ of the contrastive losses (the paper's 0.1; the model config's default too). */
export const DEFAULT_TAU = 0.1;
/** Largest number of modalities (anchor included) in one Gram. */
export const MAX_MODALITIES = 8;

export type ContrastiveReduction = 'sum' | 'mean';

// ---- validation ----------------------------------------------------------------------------------

function isTensor(x: unknown): x is Tensor {
  return !!x && typeof x === 'object' && (x as { __isTensor?: boolean }).__isTensor === true;
}

/** Checks anchor [B, D] and others [B, K−1, D] (or [B, D] for K = 2); names the argument at fault. */
export function checkGramInputs(op: string, anchor: Tensor, others: Tensor): GramShape {
  if (!isTensor(anchor)) throw new ShapeError(`${op}: anchor must be a Tensor [B, D], got ${typeof anchor}`);
  if (!isTensor(others)) throw new ShapeError(`${op}: others must be a Tensor [B, K−1, D], got ${typeof others}`);
  anchor.assertLive(op);
  others.assertLive(op);
  if (anchor.dtype === 'int32') throw new ShapeError(`${op}: anchor must be a float tensor, got int32 ${shapeStr(anchor.shape)}; convert with .toFloat()`);
  if (others.dtype === 'int32') throw new ShapeError(`${op}: others must be a float tensor, got int32 ${shapeStr(others.shape)}; convert with .toFloat()`);
  if (anchor.rank !== 2) throw new ShapeError(`${op}: anchor must be [B, D], got ${anchor.describe()}`);
  if (others.rank !== 3 && others.rank !== 2) throw new ShapeError(`${op}: others must be [B, K−1, D] (or [B, D] for K = 2), got ${others.describe()}`);
  const [B, D] = anchor.shape;
  const Km = others.rank === 3 ? others.shape[1] : 1;
  const Bo = others.shape[0];
  const Do = others.shape[others.rank - 1];
  if (Bo !== B) throw new ShapeError(`${op}: batch size B differs: anchor ${shapeStr(anchor.shape)} has ${B}, others ${shapeStr(others.shape)} has ${Bo}`);
  if (Do !== D) throw new ShapeError(`${op}: feature size D differs: anchor ${shapeStr(anchor.shape)} has ${D}, others ${shapeStr(others.shape)} has ${Do}`);
  const K = Km + 1;
  if (K < 2 || K > MAX_MODALITIES) {
    throw new ShapeError(`${op}: K = ${K} modalities (anchor + others ${shapeStr(others.shape)}) is outside 2..${MAX_MODALITIES}; others must be [B, K−1, D] with 1 ≤ K−1 ≤ ${MAX_MODALITIES - 1}`);
  }
  if (B < 1 || D < 1) throw new ShapeError(`${op}: empty input: anchor ${shapeStr(anchor.shape)}, others ${shapeStr(others.shape)}`);
  if (anchor.backend !== others.backend) throw new ShapeError(`${op}: anchor is on ${anchor.backend.name} and others on ${others.backend.name}; move one with to()`);
  return { B, K, D };
}

function checkEps(op: string, eps: number): void {
  if (!(eps > 0) || !Number.isFinite(eps)) throw new ShapeError(`${op}: eps must be a positive finite number, got ${eps}`);
}

function checkContrastiveOpts(op: string, labelSmoothing: number, reduction: string): void {
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new ShapeError(`${op}: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  if (reduction !== 'sum' && reduction !== 'mean') throw new ShapeError(`${op}: reduction must be 'sum' (of the two directions, DualAlign) or 'mean' (GRAM), got '${reduction}'`);
}

// ---- gramVolumeMatrix ----------------------------------------------------------------------------

export interface GramVolumeOptions {
  /** eps of the normalization x / max(‖x‖, eps); default 1e-12. */
  eps?: number;
}

/**
 * V [B, B] with V[i, j] = Vol(â_j, m̂_i¹, …, m̂_iᴷ⁻¹) = sqrt(max(det G, 1e−12)), G the K×K Gram of
 * the anchor of sample j and the K−1 other modalities of sample i, all L2-normalized inside
 * (x / max(‖x‖, eps); gradients flow through the normalization; a zero vector gives a zero
 * Gram row, a clamped volume and finite gradients, never NaN).
 *
 * anchor [B, D]; others [B, K−1, D] with 2 ≤ K ≤ 8 (a [B, D] tensor is taken as K = 2).
 * Backward: exact, d det/dG = adj(G)ᵀ from cofactors (finite for singular G); zero below the clamp.
 */
export function gramVolumeMatrix(anchor: Tensor, others: Tensor, opts: GramVolumeOptions = {}): Tensor {
  const op = 'gramVolumeMatrix';
  const s = checkGramInputs(op, anchor, others);
  const eps = opts.eps ?? NORM_EPS;
  checkEps(op, eps);
  const a = dense(anchor);
  const o = dense(others);
  try {
    return runRoutine({
      op,
      inputs: [anchor, others],
      operands: [a, o],
      shape: [s.B, s.B],
      forward: (r) => r.gramVolume?.(a, o, s, eps),
      backward: (r, saved, state, g) => r.gramBackward!(saved, state, s, eps, g, null, [anchor.requiresGrad, others.requiresGrad]),
      fallback: () => composedGramVolumeMatrix(anchor, others, eps),
    });
  } finally {
    a.dispose();
    o.dispose();
  }
}

// ---- contrastiveSoftmaxLoss ----------------------------------------------------------------------

export interface ContrastiveOptions {
  /** Label smoothing ε: each direction's target is (1−ε)·onehot + ε/B. Default 0. */
  labelSmoothing?: number;
  /** 'sum' of the two directions (DualAlign, default) or their 'mean' (GRAM). */
  reduction?: ContrastiveReduction;
}

function factor(B: number, reduction: ContrastiveReduction): number {
  return reduction === 'mean' ? 1 / (2 * B) : 1 / B;
}

/**
 * Two-direction contrastive softmax over a square logit matrix [B, B] with the diagonal as the
 * targets: mean_i CE(row i, i) + mean_i CE(column i, i) ('sum', default) or half of it ('mean').
 * One kernel computes the row and column log-sum-exp in one pass; the backward is one fused kernel.
 */
export function contrastiveSoftmaxLoss(logits: Tensor, opts: ContrastiveOptions = {}): Tensor {
  const op = 'contrastiveSoftmaxLoss';
  if (!isTensor(logits)) throw new ShapeError(`${op}: logits must be a Tensor [B, B], got ${typeof logits}`);
  logits.assertLive(op);
  const { labelSmoothing = 0, reduction = 'sum' } = opts;
  checkContrastiveOpts(op, labelSmoothing, reduction);
  if (logits.dtype === 'int32') throw new ShapeError(`${op}: logits must be a float tensor, got int32 ${shapeStr(logits.shape)}`);
  if (logits.rank !== 2 || logits.shape[0] !== logits.shape[1] || logits.shape[0] < 1) {
    throw new ShapeError(`${op}: logits must be a square [B, B] matrix (row i, column i the positive pair), got ${logits.describe()}`);
  }
  const B = logits.shape[0];
  const c = factor(B, reduction);
  return contrastiveCore(op, logits, B, 1, labelSmoothing, c);
}

function contrastiveCore(op: string, logits: Tensor, B: number, scale: number, smooth: number, c: number): Tensor {
  const x = dense(logits);
  const p: ContrastiveParams = { scale, smooth, c };
  try {
    return runRoutine({
      op,
      inputs: [logits],
      operands: [x],
      shape: [],
      forward: (r) => r.contrastive?.(x, B, p),
      backward: (r, saved, state, g) => [r.contrastiveBackward!(saved, state, B, p, g)],
      fallback: () => tidy(() => composedContrastiveLoss(scale === 1 ? logits : E.mul(logits, scale), smooth, B * c)),
    });
  } finally {
    x.dispose();
  }
}

// ---- the fused Gram-contrastive loss node --------------------------------------------------------

export interface FusedGramLossOptions {
  /** Logits are scale·V (−1/τ for the Gram loss). */
  scale: number;
  labelSmoothing: number;
  reduction: ContrastiveReduction;
  eps: number;
}

/**
 * contrastiveSoftmaxLoss(scale · gramVolumeMatrix(anchor, others)) as one autograd node: the
 * backward computes dL/dV per pair inside the cofactor kernel (no [B, B] gradient pass).
 */
export function fusedGramContrastiveLoss(op: string, anchor: Tensor, others: Tensor, s: GramShape, o: FusedGramLossOptions): Tensor {
  const p: ContrastiveParams = { scale: o.scale, smooth: o.labelSmoothing, c: factor(s.B, o.reduction) };
  const a = dense(anchor);
  const os = dense(others);
  try {
    return runRoutine({
      op,
      inputs: [anchor, others],
      operands: [a, os],
      shape: [],
      forward: (r) => r.gramContrastive?.(a, os, s, o.eps, p),
      backward: (r, saved, state, g) => r.gramBackward!(saved, state, s, o.eps, g, p, [anchor.requiresGrad, others.requiresGrad]),
      fallback: () => tidy(() => contrastiveCore(op, gramVolumeMatrix(anchor, others, { eps: o.eps }), s.B, p.scale, p.smooth, p.c)),
    });
  } finally {
    a.dispose();
    os.dispose();
  }
}

export { checkContrastiveOpts, checkEps, isTensor };
