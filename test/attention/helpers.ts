/** Shared helpers of the attention tests: the seeded inputs of tools/attention_golden.py, runners, comparisons. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crossAttention, crossAttentionUnfused, setAttentionTuning, tensor, type Tensor } from '../../src/index.js';
import type { AttnVariant } from '../../src/backend/webgpu/attention.js';

export { mulberry32 } from '../prng.js';
import { mulberry32 } from '../prng.js';

export interface Shape {
  B: number;
  Tq: number;
  Tk: number;
  D: number;
  heads: number;
  mask?: boolean;
  allMasked?: boolean;
  mult?: number;
}

export interface Inputs {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  g: Float64Array;
  keep: Int32Array | null;
}

/** q, k, v (times mult) and g drawn in golden.py's order; keep[b, j] = (7b + 3j) % 5 != 0, batch 1 all masked when allMasked. */
export function inputs(seed: number, s: Shape): Inputs {
  const r = mulberry32(seed);
  const mult = s.mult ?? 1;
  const draw = (n: number, m: number) => Float64Array.from({ length: n }, () => (r() * 2 - 1) * m);
  const q = draw(s.B * s.Tq * s.D, mult);
  const k = draw(s.B * s.Tk * s.D, mult);
  const v = draw(s.B * s.Tk * s.D, mult);
  const g = draw(s.B * s.Tq * s.D, 1);
  let keep: Int32Array | null = null;
  if (s.mask) {
    keep = new Int32Array(s.B * s.Tk);
    for (let b = 0; b < s.B; b++) for (let j = 0; j < s.Tk; j++) keep[b * s.Tk + j] = (b * 7 + j * 3) % 5 !== 0 ? 1 : 0;
    if (s.allMasked && s.B > 1) keep.fill(0, s.Tk, 2 * s.Tk);
  }
  return { q, k, v, g, keep };
}

/** Where a run happens: CPU float64, or the GPU with a kernel family. */
export type Where = 'cpu64' | 'cpu32' | 'staged' | 'direct';

export interface RunResult {
  out: Float64Array;
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

export function withVariant<T>(where: Where, fn: () => T): T {
  if (where === 'cpu64' || where === 'cpu32') return fn();
  const prev = setAttentionTuning({ variant: where as AttnVariant });
  try {
    return fn();
  } finally {
    setAttentionTuning(prev);
  }
}

export function leaf(values: ArrayLike<number>, shape: number[], where: Where, requiresGrad = true): Tensor {
  if (where === 'cpu64') return tensor(Float64Array.from(values), shape, { backend: 'cpu', dtype: 'float64', requiresGrad });
  if (where === 'cpu32') return tensor(Float32Array.from(values), shape, { backend: 'cpu', requiresGrad });
  return tensor(Float32Array.from(values), shape, { requiresGrad });
}

/** Forward + backward of sum(out * g) with the fused op (or the unfused composition). */
export async function run(s: Shape, x: Inputs, where: Where, opts: { unfused?: boolean; dropout?: number; scale?: number } = {}): Promise<RunResult> {
  const q = leaf(x.q, [s.B, s.Tq, s.D], where);
  const k = leaf(x.k, [s.B, s.Tk, s.D], where);
  const v = leaf(x.v, [s.B, s.Tk, s.D], where);
  const g = leaf(x.g, [s.B, s.Tq, s.D], where, false);
  const m = x.keep ? tensor(x.keep, [s.B, s.Tk], { backend: where.startsWith('cpu') ? 'cpu' : 'default' }) : null;
  const fn = opts.unfused ? crossAttentionUnfused : crossAttention;
  const y = withVariant(where, () => {
    const o = fn(q, k, v, { heads: s.heads, keyMask: m, dropout: opts.dropout, scale: opts.scale });
    o.backward(g);
    return o;
  });
  const res = {
    out: Float64Array.from(await y.data()),
    dq: Float64Array.from(await q.grad!.data()),
    dk: Float64Array.from(await k.grad!.data()),
    dv: Float64Array.from(await v.grad!.data()),
  };
  for (const t of [q, k, v, g, y, m]) t?.dispose();
  return res;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** max |a - b| / max(max |b|, floor): the error relative to the tensor's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e / Math.max(maxAbs(b), floor);
}

export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

// ---- golden fixture ---------------------------------------------------------------------------

export interface Summary {
  sum: number;
  sumsq: number;
  values?: number[];
  samples?: [number, number][];
}

export interface GoldenCase extends Shape {
  name: string;
  seed: number;
  out: Summary;
  dq: Summary;
  dk: Summary;
  dv: Summary;
}

export function golden(): GoldenCase[] {
  const path = fileURLToPath(new URL('../fixtures/attention/golden.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { cases: GoldenCase[] }).cases;
}

/** Error of `a` against a golden summary, relative to the tensor's scale (sqrt of mean square). */
export function goldenErr(a: Float64Array, s: Summary): number {
  const scale = Math.max(Math.sqrt(s.sumsq / a.length), 1e-6);
  let e = 0;
  if (s.values) for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - s.values[i]));
  if (s.samples) for (const [i, v] of s.samples) e = Math.max(e, Math.abs(a[i] - v));
  let sum = 0;
  let sumsq = 0;
  for (const x of a) {
    sum += x;
    sumsq += x * x;
  }
  e = Math.max(e, Math.abs(sum - s.sum) / Math.sqrt(a.length), Math.abs(Math.sqrt(sumsq) - Math.sqrt(s.sumsq)) / Math.sqrt(a.length));
  return e / scale;
}
