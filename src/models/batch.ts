/**
 * Batching: samples (src/data/types.ts) -> one tensor per modality plus a presence mask.
 *
 * Shapes per modality (B samples):
 *   linear stream  [B, L, inputDim]       L = the longest L in the batch; shorter sequences are
 *                                         linearly resampled to L (features, not padding)
 *   graph stream   [B, T, J, inputDim]    T likewise resampled; channels beyond inputDim
 *                                         dropped, missing ones zero
 *   image          [B, Timg, inputDim]    Timg likewise
 *   text           [B, inputDim]          ([1, D] or [D] per sample)
 * A sample without a modality gets zeros there and mask 0 (the model uses a placeholder and
 * masks it out). Labels may be missing too (semi-supervised training): grades / scores are set
 * when any sample has one, with -1 / NaN where a sample has none, and hasGrade / hasScore say
 * which samples are labeled; loss() computes L_grade over those only.
 */
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/ops/creation.js';
import type { Backend, DType } from '../backend/backend.js';
import type { FeatureArray, Sample } from '../data/types.js';
import { resolveLayout } from '../nn/graph.js';
import { resolveConfig, type DualAlignConfig, type ResolvedConfig } from './config.js';

export interface Batch {
  modalities: Record<string, Tensor>;
  /** int32 [B], 1 where the sample has the modality. */
  masks: Record<string, Tensor>;
  /** int32 [B] grade indices (-1 where a sample has no grade). */
  grades?: Tensor;
  /** float32 [B] continuous scores (NaN where a sample has no score). */
  scores?: Tensor;
  /** Host: which samples have a grade / a score. Absent: every sample when the tensor is set, none otherwise. */
  hasGrade?: boolean[];
  hasScore?: boolean[];
  size: number;
  /** Host copy of the masks (collate fills it; the model uses it to select samples for the alignment losses). */
  presence?: Record<string, boolean[]>;
  ids?: string[];
}

export interface CollateOptions {
  backend?: 'cpu' | 'default' | Backend;
  /** float32 (default) or float64 (CPU only). */
  dtype?: DType;
}

type Layout = { kind: 'seq'; dim: number } | { kind: 'graph'; joints: number; channels: number } | { kind: 'vec'; dim: number };

function layouts(c: ResolvedConfig): Record<string, Layout> {
  const out: Record<string, Layout> = {};
  for (const s of c.streams) {
    out[s.name] = s.kind === 'graph' ? { kind: 'graph', joints: resolveLayout(s.layout!).joints, channels: s.inputDim } : { kind: 'seq', dim: s.inputDim };
  }
  if (c.image) out[c.image.name] = { kind: 'seq', dim: c.image.inputDim };
  if (c.text) out[c.text.name] = { kind: 'vec', dim: c.text.inputDim };
  return out;
}

/** Resamples rows [L, W] to [target, W] by linear interpolation (align-corners). */
function resampleRows(src: Float32Array, L: number, W: number, target: number, out: Float32Array, outOffset: number): void {
  if (L === target) {
    out.set(src.subarray(0, L * W), outOffset);
    return;
  }
  for (let t = 0; t < target; t++) {
    const pos = target === 1 ? 0 : (t * (L - 1)) / (target - 1);
    const i0 = Math.floor(pos);
    const i1 = Math.min(i0 + 1, L - 1);
    const w = pos - i0;
    for (let k = 0; k < W; k++) out[outOffset + t * W + k] = src[i0 * W + k] * (1 - w) + src[i1 * W + k] * w;
  }
}

function describe(f: FeatureArray): string {
  return `[${f.shape.join(', ')}]`;
}

/** Stacks samples into a Batch for the given model configuration (a DualAlign config or model.config). */
export function collate(samples: Sample[], config: DualAlignConfig | ResolvedConfig, opts: CollateOptions = {}): Batch {
  if (samples.length === 0) throw new Error('collate: no samples');
  const c = resolveConfig(config);
  const B = samples.length;
  const topts = { backend: opts.backend, dtype: opts.dtype ?? 'float32' };
  const modalities: Record<string, Tensor> = {};
  const masks: Record<string, Tensor> = {};
  const presence: Record<string, boolean[]> = {};
  for (const [name, lay] of Object.entries(layouts(c))) {
    const present = samples.map((s) => s.modalities[name] !== undefined);
    presence[name] = present;
    const feats = samples.map((s) => s.modalities[name]);
    const where = (i: number) => `collate: sample '${samples[i].id}' modality '${name}'`;
    if (lay.kind === 'vec') {
      const data = new Float32Array(B * lay.dim);
      feats.forEach((f, i) => {
        if (!f) return;
        if (f.data.length !== lay.dim) throw new Error(`${where(i)} has shape ${describe(f)}; expected [${lay.dim}] (or [1, ${lay.dim}])`);
        data.set(f.data, i * lay.dim);
      });
      modalities[name] = tensor(data, [B, lay.dim], topts);
    } else if (lay.kind === 'seq') {
      let L = 0;
      feats.forEach((f, i) => {
        if (!f) return;
        const rows = f.shape.length === 1 ? 1 : f.shape[0];
        const width = f.shape.length === 1 ? f.shape[0] : f.data.length / Math.max(rows, 1);
        if (width !== lay.dim || rows < 1) throw new Error(`${where(i)} has shape ${describe(f)}; expected [L, ${lay.dim}]`);
        L = Math.max(L, rows);
      });
      if (L === 0) L = 1;
      const data = new Float32Array(B * L * lay.dim);
      feats.forEach((f, i) => {
        if (!f) return;
        const rows = f.shape.length === 1 ? 1 : f.shape[0];
        resampleRows(f.data, rows, lay.dim, L, data, i * L * lay.dim);
      });
      modalities[name] = tensor(data, [B, L, lay.dim], topts);
    } else {
      const { joints: J, channels: C } = lay;
      let T = 0;
      feats.forEach((f, i) => {
        if (!f) return;
        if (f.shape.length !== 3 || f.shape[1] !== J) throw new Error(`${where(i)} has shape ${describe(f)}; expected [T, ${J}, C] for the ${J}-joint layout`);
        T = Math.max(T, f.shape[0]);
      });
      if (T === 0) T = 1;
      const data = new Float32Array(B * T * J * C);
      const tmp = new Float32Array(T * J * C);
      feats.forEach((f, i) => {
        if (!f) return;
        const [Ts, , Cs] = f.shape;
        const src = new Float32Array(Ts * J * C);
        for (let t = 0; t < Ts; t++) for (let j = 0; j < J; j++) for (let k = 0; k < Math.min(C, Cs); k++) src[(t * J + j) * C + k] = f.data[(t * J + j) * Cs + k];
        resampleRows(src, Ts, J * C, T, tmp, 0);
        data.set(tmp, i * T * J * C);
      });
      modalities[name] = tensor(data, [B, T, J, C], topts);
    }
    masks[name] = tensor(Int32Array.from(present, (p) => (p ? 1 : 0)), [B], { backend: opts.backend, dtype: 'int32' });
  }
  const hasGrade = samples.map((s) => s.grade !== undefined);
  const hasScore = samples.map((s) => s.score !== undefined);
  const batch: Batch = { modalities, masks, size: B, presence, ids: samples.map((s) => s.id), hasGrade, hasScore };
  if (hasGrade.some(Boolean)) {
    if (c.task === 'grade') {
      const bad = samples.find((s) => s.grade !== undefined && !(Number.isInteger(s.grade) && s.grade >= 0 && s.grade < c.numGrades));
      if (bad) throw new Error(`collate: sample '${bad.id}' has grade ${bad.grade}, outside 0..${c.numGrades - 1}`);
    }
    batch.grades = tensor(Int32Array.from(samples, (s) => s.grade ?? -1), [B], { backend: opts.backend, dtype: 'int32' });
  }
  if (hasScore.some(Boolean)) batch.scores = tensor(Float32Array.from(samples, (s) => s.score ?? NaN), [B], topts);
  return batch;
}

/** Frees every tensor of a batch. */
export function disposeBatch(batch: Batch): void {
  for (const t of Object.values(batch.modalities)) t.dispose();
  for (const t of Object.values(batch.masks)) t.dispose();
  batch.grades?.dispose();
  batch.scores?.dispose();
}
