/** Shared helpers of the gram tests: the seeded input generator of tools/gram_golden.py, comparisons. */
import { expect } from 'vitest';
import { tensor, type Tensor } from '../../src/index.js';

export { mulberry32 } from '../prng.js';
import { mulberry32 } from '../prng.js';

/** a = z + noise·n_a [B, D], m_k = z + noise·n_k [B, K−1, D], as float64 (golden.py's gram_inputs). */
export function gramInputs(seed: number, B: number, K: number, D: number, noise: number): { a: Float64Array; o: Float64Array } {
  const r = mulberry32(seed);
  const Km = K - 1;
  const z = Float64Array.from({ length: B * D }, () => 2 * r() - 1);
  const na = Float64Array.from({ length: B * D }, () => 2 * r() - 1);
  const no = Float64Array.from({ length: B * Km * D }, () => 2 * r() - 1);
  const a = new Float64Array(B * D);
  for (let e = 0; e < B * D; e++) a[e] = z[e] + noise * na[e];
  const o = new Float64Array(B * Km * D);
  for (let i = 0; i < B; i++) for (let k = 0; k < Km; k++) for (let d = 0; d < D; d++) o[(i * Km + k) * D + d] = z[i * D + d] + noise * no[(i * Km + k) * D + d];
  return { a, o };
}

export type Where = 'cpu64' | 'gpu';

/** Leaf tensors on the CPU in float64 or on the default (WebGPU) backend in float32. */
export function leaf(values: Float64Array, shape: number[], where: Where, requiresGrad = true): Tensor {
  return where === 'cpu64'
    ? tensor(values, shape, { backend: 'cpu', dtype: 'float64', requiresGrad })
    : tensor(Float32Array.from(values), shape, { requiresGrad });
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** max |got − want| / max |want| (0 when both are all zero). */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let e = 0;
  for (let i = 0; i < got.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]));
  const s = maxAbs(want);
  return s === 0 ? e : e / s;
}

export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  const e = relErr(got, want);
  if (!(e <= tol)) throw new Error(`${what}: relative error ${e.toExponential(3)} exceeds ${tol}`);
}

export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
