/** crossAttention's options and argument checks (shared by the fused op and the unfused composition). */
import type { Generator } from '../autograd/ops/random.js';
import type { Tensor } from '../autograd/tensor.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import type { AttnGeometry } from '../backend/webgpu/attention.js';

export interface CrossAttentionOptions {
  /** number of heads; D must be divisible by it */
  heads: number;
  /** int32 [B, Tk]: nonzero keeps a key, 0 masks it. A query whose keys are all masked yields 0. */
  keyMask?: Tensor | null;
  /** score scale; default 1/sqrt(D/heads) */
  scale?: number;
  /** attention-probability dropout in [0, 1) (applied when `training`) */
  dropout?: number;
  /** default true; dropout is applied only while training */
  training?: boolean;
  /** the Philox stream dropout draws its counters from; default the global generator */
  generator?: Generator;
}

/** Largest head dimension the fused GPU kernels take; larger heads run the unfused composition. */
export const MAX_FUSED_HEAD_DIM = 256;

/** Checks the arguments; returns the geometry. Throws ShapeError naming the argument and shapes. */
export function checkAttentionArgs(q: Tensor, k: Tensor, v: Tensor, opts: CrossAttentionOptions): AttnGeometry {
  const shapes = `q ${shapeStr(q.shape)}, k ${shapeStr(k.shape)}, v ${shapeStr(v.shape)}`;
  for (const [n, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.rank !== 3) throw new ShapeError(`crossAttention: ${n} must be 3-D [B, T, D], got ${n} ${shapeStr(t.shape)} (${shapes})`);
    if (t.dtype === 'int32') throw new ShapeError(`crossAttention: ${n} must be a float tensor, got int32 ${shapeStr(t.shape)}`);
  }
  if (q.dtype !== k.dtype || q.dtype !== v.dtype) throw new ShapeError(`crossAttention: q, k, v dtypes differ (${q.dtype}, ${k.dtype}, ${v.dtype})`);
  const [B, Tq, D] = q.shape;
  if (k.shape[0] !== B || v.shape[0] !== B) throw new ShapeError(`crossAttention: batch sizes differ: ${shapes}`);
  if (k.shape[1] !== v.shape[1]) throw new ShapeError(`crossAttention: k and v must have the same length Tk: ${shapes}`);
  if (k.shape[2] !== D || v.shape[2] !== D) throw new ShapeError(`crossAttention: k and v must have the model dimension D = ${D} of q (project them first): ${shapes}`);
  const heads = opts.heads;
  if (!Number.isInteger(heads) || heads < 1) throw new ShapeError(`crossAttention: heads must be a positive integer, got ${heads}`);
  if (D % heads !== 0) throw new ShapeError(`crossAttention: D = ${D} (q ${shapeStr(q.shape)}) is not divisible by heads = ${heads}`);
  const Tk = k.shape[1];
  const m = opts.keyMask;
  if (m) {
    if (m.dtype !== 'int32') throw new ShapeError(`crossAttention: keyMask must be int32 [B, Tk] = ${shapeStr([B, Tk])}, got ${m.dtype} ${shapeStr(m.shape)}`);
    if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== Tk) {
      throw new ShapeError(`crossAttention: keyMask must be [B, Tk] = ${shapeStr([B, Tk])}, got ${shapeStr(m.shape)} (${shapes})`);
    }
  }
  const p = opts.dropout ?? 0;
  if (!(p >= 0 && p < 1)) throw new ShapeError(`crossAttention: dropout must be in [0, 1), got ${p}`);
  const DH = D / heads;
  const scale = opts.scale ?? 1 / Math.sqrt(DH);
  if (!Number.isFinite(scale)) throw new ShapeError(`crossAttention: scale must be finite, got ${scale}`);
  return { B, H: heads, Tq, Tk, DH, scale };
}

