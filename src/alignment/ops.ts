/**
 * The fused alignment ops: gramVolumeMatrix and contrastiveSoftmaxLoss, plus the internal fused
 * Gram-contrastive loss node. Each runs on both backends: WebGPU through wgsl/gram.wgsl and
 * wgsl/contrastive.wgsl, the CPU through the float64 loops of ./reference.ts (the oracle).
 */
import { Storage, sizeOf, type Backend, type DType, type TypedArray, type View } from '../backend/backend.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { noGrad, record } from '../autograd/engine.js';
import type { Tensor } from '../autograd/tensor.js';
import { contiguous } from '../autograd/ops/shape.js';
import { wrap } from '../autograd/ops/util.js';
import { runGramBackward, runGramForward, type GramPrepBuffers, type PairSource } from '../kernels/gram.js';
import { runContrastiveBackward, runContrastiveForward, statsLength } from '../kernels/contrastive.js';
import * as ref from './reference.js';

/** Default eps of the L2 normalization x / max(‖x‖, eps) (PyTorch's F.normalize). */
export const NORM_EPS = 1e-12;
/** Largest number of modalities (anchor included) in one Gram. */
export const MAX_MODALITIES = 8;

export type ContrastiveReduction = 'sum' | 'mean';

export interface GramShape {
  B: number;
  K: number;
  D: number;
}

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

// ---- backend helpers -----------------------------------------------------------------------------

function rtOf(backend: Backend): GpuRuntime {
  return (backend as unknown as { rt: GpuRuntime }).rt;
}

/** The values of a CPU tensor, row-major, as float64 (read through its strides). */
function hostValues(t: View): Float64Array {
  const src = t.storage.handle as TypedArray;
  const n = sizeOf(t.shape);
  const out = new Float64Array(n);
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  let off = t.offset;
  for (let e = 0; e < n; e++) {
    out[e] = src[off];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += t.strides[d];
      if (idx[d] < t.shape[d]) break;
      off -= t.strides[d] * t.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function cpuTensor(backend: Backend, values: Float64Array, shape: readonly number[], dtype: DType): Tensor {
  return wrap(backend.fromHost(values, dtype), shape, dtype);
}

function gpuTensor(backend: Backend, buffer: GPUBuffer, shape: readonly number[]): Tensor {
  return wrap(new Storage(backend, buffer, sizeOf(shape)), shape, 'float32');
}

/** A contiguous, graph-free view of x for a kernel (an alias when x already is one). */
function dense(x: Tensor): Tensor {
  return noGrad(() => contiguous(x));
}

function prepFromSaved(a: Tensor, o: Tensor, aux: Tensor, g: GramShape): GramPrepBuffers {
  return { B: g.B, K: g.K, D: g.D, a, o, aux: aux.storage.handle as GPUBuffer };
}

/**
 * Forward of the Gram volumes on the GPU; returns the pass buffers as tensors the caller owns:
 * the contiguous inputs (aliases when the inputs already are), the per-sample Grams, V and C.
 */
function gpuGramForward(anchor: Tensor, others: Tensor, s: GramShape, eps: number): { a: Tensor; o: Tensor; aux: Tensor; V: Tensor; C: Tensor } {
  const backend = anchor.backend;
  const rt = rtOf(backend);
  const a = dense(anchor);
  const o = dense(others);
  const { pr, V, C } = runGramForward(rt, a, o, s.B, s.K, s.D, eps);
  return {
    a,
    o,
    aux: gpuTensor(backend, pr.aux, [s.B, s.K + s.K * s.K]),
    V: gpuTensor(backend, V, [s.B, s.B]),
    C: gpuTensor(backend, C, [s.B, s.B, s.K - 1]),
  };
}

function gpuGramBackward(backend: Backend, pr: GramPrepBuffers, C: GPUBuffer, src: PairSource, eps: number, need: [boolean, boolean], othersShape: readonly number[]): [Tensor | null, Tensor | null] {
  const [gA, gO] = runGramBackward(rtOf(backend), pr, C, src, eps, need);
  return [gA && gpuTensor(backend, gA, [pr.B, pr.D]), gO && gpuTensor(backend, gO, othersShape)];
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
  const backend = anchor.backend;
  const othersShape = [...others.shape];
  if (backend.name === 'cpu') {
    const dtype: DType = anchor.dtype === 'float64' || others.dtype === 'float64' ? 'float64' : 'float32';
    const pr = ref.gramPrep(hostValues(anchor), hostValues(others), s.B, s.K, s.D, eps);
    const { V, C } = ref.gramForward(pr);
    const out = cpuTensor(backend, V, [s.B, s.B], dtype);
    return record(op, out, [anchor, others], (g) => {
      const { gA, gO } = ref.gramBackward(pr, C, hostValues(g));
      return [anchor.requiresGrad ? cpuTensor(backend, gA, anchor.shape, anchor.dtype) : null, others.requiresGrad ? cpuTensor(backend, gO, othersShape, others.dtype) : null];
    });
  }
  const f = gpuGramForward(anchor, others, s, eps);
  const out = record(
    op,
    f.V,
    [anchor, others],
    (g, [a, o, aux, C]) => {
      const gd = dense(g);
      const r = gpuGramBackward(backend, prepFromSaved(a, o, aux, s), C.storage.handle as GPUBuffer, { kind: 'grad', gV: gd }, eps, [anchor.requiresGrad, others.requiresGrad], othersShape);
      gd.dispose();
      return r;
    },
    [f.a, f.o, f.aux, f.C],
  );
  for (const t of [f.a, f.o, f.aux, f.C]) t.dispose();
  return out;
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
  const backend = logits.backend;
  if (backend.name === 'cpu') {
    const X = hostValues(logits);
    const st = ref.contrastiveForward(X, B, scale, smooth, c);
    const out = cpuTensor(backend, Float64Array.of(st.loss), [], logits.dtype);
    return record(op, out, [logits], (g) => {
      const gv = hostValues(g)[0];
      return [cpuTensor(backend, ref.contrastiveGrad(X, B, scale, smooth, c, st, gv), [B, B], logits.dtype)];
    });
  }
  const rt = rtOf(backend);
  const x = dense(logits);
  const o = { scale, smooth, c };
  const { stats, loss } = runContrastiveForward(rt, x, B, o);
  const statsT = gpuTensor(backend, stats, [statsLength(B)]);
  const out = record(
    op,
    gpuTensor(backend, loss, []),
    [logits],
    (g, [xs, sts]) => {
      const gd = dense(g);
      const dx = runContrastiveBackward(rt, xs, B, sts.storage.handle as GPUBuffer, gd, o);
      gd.dispose();
      return [gpuTensor(backend, dx, [B, B])];
    },
    [x, statsT],
  );
  x.dispose();
  statsT.dispose();
  return out;
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
  const backend = anchor.backend;
  const c = factor(s.B, o.reduction);
  const othersShape = [...others.shape];
  if (backend.name === 'cpu') {
    const dtype: DType = anchor.dtype === 'float64' || others.dtype === 'float64' ? 'float64' : 'float32';
    const pr = ref.gramPrep(hostValues(anchor), hostValues(others), s.B, s.K, s.D, o.eps);
    const { V, C } = ref.gramForward(pr);
    const st = ref.contrastiveForward(V, s.B, o.scale, o.labelSmoothing, c);
    const out = cpuTensor(backend, Float64Array.of(st.loss), [], dtype);
    return record(op, out, [anchor, others], (g) => {
      const gV = ref.contrastiveGrad(V, s.B, o.scale, o.labelSmoothing, c, st, hostValues(g)[0]);
      const { gA, gO } = ref.gramBackward(pr, C, gV);
      return [anchor.requiresGrad ? cpuTensor(backend, gA, anchor.shape, anchor.dtype) : null, others.requiresGrad ? cpuTensor(backend, gO, othersShape, others.dtype) : null];
    });
  }
  const rt = rtOf(backend);
  const f = gpuGramForward(anchor, others, s, o.eps);
  const { stats, loss } = runContrastiveForward(rt, f.V, s.B, { scale: o.scale, smooth: o.labelSmoothing, c });
  f.V.dispose();
  const statsT = gpuTensor(backend, stats, [statsLength(s.B)]);
  const out = record(
    op,
    gpuTensor(backend, loss, []),
    [anchor, others],
    (g, [as, os, aux, C, sts]) => {
      const gd = dense(g);
      const r = gpuGramBackward(
        backend,
        prepFromSaved(as, os, aux, s),
        C.storage.handle as GPUBuffer,
        { kind: 'contrastive', g: gd, stats: sts.storage.handle as GPUBuffer, scale: o.scale, smooth: o.labelSmoothing, c },
        o.eps,
        [anchor.requiresGrad, others.requiresGrad],
        othersShape,
      );
      gd.dispose();
      return r;
    },
    [f.a, f.o, f.aux, f.C, statsT],
  );
  for (const t of [f.a, f.o, f.aux, f.C, statsT]) t.dispose();
  return out;
}

export { checkContrastiveOpts, checkEps, isTensor };
