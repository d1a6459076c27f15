// Central finite differences of the CPU float64 path against its analytic backward.
import { describe, expect, it } from 'vitest';
import { crossAttention, tensor } from '../../src/index.js';
import { inputs, type Shape } from './helpers.js';

function lossOf(s: Shape, q: Float64Array, k: Float64Array, v: Float64Array, g: Float64Array, keep: Int32Array | null, scale?: number): number {
  const o = { backend: 'cpu' as const, dtype: 'float64' as const };
  const y = crossAttention(tensor(q, [s.B, s.Tq, s.D], o), tensor(k, [s.B, s.Tk, s.D], o), tensor(v, [s.B, s.Tk, s.D], o), {
    heads: s.heads,
    keyMask: keep ? tensor(keep, [s.B, s.Tk], { backend: 'cpu' }) : null,
    scale,
  });
  const yd = y.storage.handle as Float64Array;
  let l = 0;
  for (let i = 0; i < g.length; i++) l += yd[i] * g[i];
  return l;
}

describe('crossAttention gradient check (CPU float64, central differences)', () => {
  const cases: [Shape, number | undefined][] = [
    [{ B: 2, Tq: 3, Tk: 4, D: 8, heads: 2, mask: true }, undefined],
    [{ B: 1, Tq: 2, Tk: 5, D: 6, heads: 3 }, 0.7],
    [{ B: 2, Tq: 3, Tk: 3, D: 4, heads: 1, mask: true, allMasked: true }, undefined],
  ];
  for (const [s, scale] of cases) {
    it(`B=${s.B} Tq=${s.Tq} Tk=${s.Tk} D=${s.D} heads=${s.heads}${s.mask ? ' masked' : ''}${scale ? ` scale=${scale}` : ''}`, async () => {
      const x = inputs(31, s);
      const o = { backend: 'cpu' as const, dtype: 'float64' as const, requiresGrad: true };
      const q = tensor(x.q, [s.B, s.Tq, s.D], o);
      const k = tensor(x.k, [s.B, s.Tk, s.D], o);
      const v = tensor(x.v, [s.B, s.Tk, s.D], o);
      const y = crossAttention(q, k, v, { heads: s.heads, keyMask: x.keep ? tensor(x.keep, [s.B, s.Tk], { backend: 'cpu' }) : null, scale });
      y.backward(tensor(x.g, [s.B, s.Tq, s.D], { backend: 'cpu', dtype: 'float64' }));
      const analytic = [await q.grad!.data(), await k.grad!.data(), await v.grad!.data()];
      const h = 1e-6;
      const arrays = [x.q, x.k, x.v];
      let worst = 0;
      arrays.forEach((arr, which) => {
        for (let i = 0; i < arr.length; i++) {
          const keep = arr[i];
          arr[i] = keep + h;
          const lp = lossOf(s, x.q, x.k, x.v, x.g, x.keep, scale);
          arr[i] = keep - h;
          const lm = lossOf(s, x.q, x.k, x.v, x.g, x.keep, scale);
          arr[i] = keep;
          const num = (lp - lm) / (2 * h);
          worst = Math.max(worst, Math.abs(num - analytic[which][i]) / Math.max(1, Math.abs(num)));
        }
      });
      expect(worst).toBeLessThan(1e-7);
    });
  }
});
