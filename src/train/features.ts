/**
 * Pooled per-sample feature vectors on the host: the input of the pooled MLP and of the ridge
 * baseline. A modality [T, ...] becomes [mean over T, std over T] of its flattened frames; a
 * rank-1 modality (text [D]) is taken as is. Missing modalities are zeros, which after
 * standardisation is the training mean.
 */
import type { FeatureArray, Sample } from '../data/types.js';

export interface PooledLayout {
  modalities: string[];
  /** 'mean+std' (default): mean and standard deviation over time; 'mean': mean only. */
  pooling?: 'mean' | 'mean+std';
  /** Pooled size of each modality (same order). */
  sizes: number[];
  /** Per-frame size of each modality (0 for rank-1). */
  frameSizes: number[];
  total: number;
}

/** The layout from the first sample that has each modality. */
export function pooledLayout(samples: readonly Sample[], modalities: readonly string[], pooling: 'mean' | 'mean+std' = 'mean+std'): PooledLayout {
  const sizes: number[] = [];
  const frameSizes: number[] = [];
  for (const m of modalities) {
    const f = samples.find((s) => s.modalities[m] !== undefined)?.modalities[m];
    if (!f) throw new Error(`pooled features: no sample has modality '${m}'`);
    if (f.shape.length <= 1) {
      sizes.push(f.data.length);
      frameSizes.push(0);
    } else {
      const frame = f.shape.slice(1).reduce((a, b) => a * b, 1);
      sizes.push(pooling === 'mean' ? frame : 2 * frame);
      frameSizes.push(frame);
    }
  }
  return { modalities: [...modalities], pooling, sizes, frameSizes, total: sizes.reduce((a, b) => a + b, 0) };
}

function poolInto(f: FeatureArray, frame: number, size: number, out: Float32Array, offset: number, what: string, withStd: boolean): void {
  if (frame === 0) {
    if (f.data.length !== size) throw new Error(`${what}: ${f.data.length} values (shape [${f.shape.join(', ')}]), the training data has ${size}`);
    out.set(f.data, offset);
    return;
  }
  const frameOf = f.shape.slice(1).reduce((a, b) => a * b, 1);
  if (frameOf !== frame) throw new Error(`${what}: frame size ${frameOf} (shape [${f.shape.join(', ')}]) differs from the training data's ${frame}`);
  const T = f.shape[0]!;
  const sum = new Float64Array(frame);
  const sq = new Float64Array(frame);
  for (let t = 0; t < T; t++) {
    const base = t * frame;
    for (let c = 0; c < frame; c++) {
      const v = f.data[base + c]!;
      sum[c] += v;
      sq[c] += v * v;
    }
  }
  for (let c = 0; c < frame; c++) {
    const mean = sum[c]! / Math.max(T, 1);
    out[offset + c] = mean;
    if (withStd) out[offset + frame + c] = Math.sqrt(Math.max(0, sq[c]! / Math.max(T, 1) - mean * mean));
  }
}

/** One pooled vector per sample, row-major [N, layout.total]. */
export function pooledFeatures(samples: readonly Sample[], layout: PooledLayout): Float32Array {
  const out = new Float32Array(samples.length * layout.total);
  samples.forEach((s, i) => {
    let offset = i * layout.total;
    layout.modalities.forEach((m, k) => {
      const f = s.modalities[m];
      if (f) poolInto(f, layout.frameSizes[k]!, layout.sizes[k]!, out, offset, `sample '${s.id}' modality '${m}'`, layout.pooling !== 'mean');
      offset += layout.sizes[k]!;
    });
  });
  return out;
}

/** Column means and standard deviations (std floored at 1e-6) of a row-major [N, D] matrix. */
export function columnStats(x: Float32Array, n: number, d: number): { mean: Float32Array; std: Float32Array } {
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j]!;
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  const m = new Float32Array(d);
  const s = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    const mu = mean[j]! / Math.max(n, 1);
    m[j] = mu;
    s[j] = Math.max(1e-6, Math.sqrt(Math.max(0, sq[j]! / Math.max(n, 1) - mu * mu)));
  }
  return { mean: m, std: s };
}

/** (x - mean) / std per column, in place; rows whose modality is missing stay 0 (the mean). */
export function standardize(x: Float32Array, n: number, layout: PooledLayout, stats: { mean: Float32Array; std: Float32Array }, present?: boolean[][]): Float32Array {
  const d = layout.total;
  for (let i = 0; i < n; i++) {
    let offset = 0;
    layout.modalities.forEach((_, k) => {
      const size = layout.sizes[k]!;
      const has = present ? present[i]![k]! : true;
      for (let j = offset; j < offset + size; j++) x[i * d + j] = has ? (x[i * d + j]! - stats.mean[j]!) / stats.std[j]! : 0;
      offset += size;
    });
  }
  return x;
}
