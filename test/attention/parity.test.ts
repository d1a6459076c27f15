// The fused op against the unfused composition (matmul -> softmax -> matmul through engine ops,
// reshape/permute for heads) on the GPU and on the CPU, both kernel families, and strided inputs.
import { describe, expect, it } from 'vitest';
import { concat, crossAttention, slice, tensor } from '../../src/index.js';
import { allFinite, inputs, leaf, relErr, run, withVariant, type Shape, type Where } from './helpers.js';

const shapes: Shape[] = [
  { B: 2, Tq: 5, Tk: 7, D: 32, heads: 2 },
  { B: 3, Tq: 11, Tk: 6, D: 64, heads: 4, mask: true },
  { B: 2, Tq: 9, Tk: 20, D: 32, heads: 1, mask: true, allMasked: true },
  { B: 1, Tq: 33, Tk: 17, D: 256, heads: 2, mask: true },
];

describe('crossAttention: fused vs unfused composition', () => {
  for (const where of ['direct', 'staged', 'cpu64'] as Where[]) {
    it(`${where}: forward <= 1e-4, gradients <= 1e-3`, async () => {
      for (const [n, s] of shapes.entries()) {
        const x = inputs(100 + n, s);
        const ref = await run(s, x, where === 'cpu64' ? 'cpu64' : 'direct', { unfused: true });
        const got = await run(s, x, where);
        const tol = where === 'cpu64' ? 1e-9 : 1;
        expect(relErr(got.out, ref.out), `${JSON.stringify(s)} out`).toBeLessThan(1e-4 * tol);
        for (const t of ['dq', 'dk', 'dv'] as const) {
          expect(allFinite(got[t])).toBe(true);
          expect(relErr(got[t], ref[t]), `${JSON.stringify(s)} ${t}`).toBeLessThan(1e-3 * tol);
        }
      }
    });
  }

  it('reads strided slices of a fused KV projection without a copy, gradients flow to the fused tensor', async () => {
    const s: Shape = { B: 2, Tq: 6, Tk: 9, D: 32, heads: 4 };
    const x = inputs(7, s);
    const results: Record<string, Float64Array[]> = {};
    for (const where of ['cpu64', 'direct', 'staged'] as Where[]) {
      const q = leaf(x.q, [s.B, s.Tq, s.D], where);
      const kv = leaf([...x.k, ...x.v], [2, s.B, s.Tk, s.D], where, false);
      // [B, Tk, 2D] with k in the first half of each row
      const kvRows = withVariant(where, () => concat([slice(kv, 0, 0, 1).reshape([s.B, s.Tk, s.D]), slice(kv, 0, 1, 2).reshape([s.B, s.Tk, s.D])], 2)).requiresGrad_();
      const k = slice(kvRows, 2, 0, s.D);
      const v = slice(kvRows, 2, s.D, 2 * s.D);
      expect(k.isContiguous).toBe(false);
      const g = leaf(x.g, [s.B, s.Tq, s.D], where, false);
      const y = withVariant(where, () => crossAttention(q, k, v, { heads: s.heads }));
      withVariant(where, () => y.backward(g));
      results[where] = [Float64Array.from(await y.data()), Float64Array.from(await q.grad!.data()), Float64Array.from(await kvRows.grad!.data())];
    }
    const ref = await run(s, x, 'cpu64');
    expect(relErr(results.cpu64[0], ref.out)).toBeLessThan(1e-12);
    for (const where of ['direct', 'staged']) {
      results[where].forEach((a, i) => expect(relErr(a, results.cpu64[i]), `${where} ${i}`).toBeLessThan(i === 0 ? 1e-4 : 1e-3));
    }
    // the kv gradient is [dK | dV] per row
    const dkv = results.cpu64[2];
    for (let r = 0; r < s.B * s.Tk; r++) {
      for (let d = 0; d < s.D; d++) {
        expect(dkv[r * 2 * s.D + d]).toBeCloseTo(ref.dk[r * s.D + d], 10);
        expect(dkv[r * 2 * s.D + s.D + d]).toBeCloseTo(ref.dv[r * s.D + d], 10);
      }
    }
  });

  it('a transposed (non-unit last stride) input is copied and still correct', async () => {
    const s: Shape = { B: 1, Tq: 4, Tk: 4, D: 16, heads: 2 };
    const x = inputs(8, s);
    const ref = await run(s, x, 'cpu64');
    const q = tensor(Float32Array.from(x.q), [1, 4, 16]).transpose(1, 2).contiguous().transpose(1, 2); // strides [64, 1, 4]
    expect(q.strides[2]).toBe(4);
    const k = tensor(Float32Array.from(x.k), [1, 4, 16]);
    const v = tensor(Float32Array.from(x.v), [1, 4, 16]);
    const y = crossAttention(q, k, v, { heads: 2 });
    expect(relErr(await y.data(), ref.out)).toBeLessThan(1e-4);
  });
});
