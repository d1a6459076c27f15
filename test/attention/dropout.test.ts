// Attention dropout: seeded Philox stream regenerated in the backward, identical on every backend.
import { describe, expect, it } from 'vitest';
import { crossAttention, manualSeed, tensor } from '../../src/index.js';
import { inputs, relErr, run, withVariant, type Shape, type Where } from './helpers.js';

const s: Shape = { B: 2, Tq: 6, Tk: 12, D: 32, heads: 2, mask: true };

describe('crossAttention dropout', () => {
  it('same seed -> same output and gradients, on the CPU and both GPU kernel families', async () => {
    const x = inputs(11, s);
    const runs: Record<string, Awaited<ReturnType<typeof run>>[]> = {};
    for (const where of ['cpu64', 'direct', 'staged'] as Where[]) {
      runs[where] = [];
      for (let i = 0; i < 2; i++) {
        manualSeed(1234);
        runs[where].push(await run(s, x, where, { dropout: 0.4 }));
      }
      expect(Array.from(runs[where][1].out)).toEqual(Array.from(runs[where][0].out));
    }
    // the GPU regenerates exactly the CPU's keep mask: values agree to float32 precision
    for (const where of ['direct', 'staged']) {
      for (const t of ['out', 'dq', 'dk', 'dv'] as const) expect(relErr(runs[where][0][t], runs.cpu64[0][t]), `${where} ${t}`).toBeLessThan(t === 'out' ? 1e-4 : 1e-3);
    }
    // a different seed drops other entries
    manualSeed(99);
    const other = await run(s, x, 'cpu64', { dropout: 0.4 });
    expect(relErr(other.out, runs.cpu64[0].out)).toBeGreaterThan(1e-3);
  });

  it('p = 0 and training = false equal no dropout', async () => {
    const x = inputs(12, s);
    const plain = await run(s, x, 'direct');
    const p0 = await run(s, x, 'direct', { dropout: 0 });
    expect(Array.from(p0.out)).toEqual(Array.from(plain.out));
    const q = tensor(Float32Array.from(x.q), [s.B, s.Tq, s.D]);
    const k = tensor(Float32Array.from(x.k), [s.B, s.Tk, s.D]);
    const v = tensor(Float32Array.from(x.v), [s.B, s.Tk, s.D]);
    const m = tensor(x.keep!, [s.B, s.Tk]);
    const evalOut = withVariant('direct', () => crossAttention(q, k, v, { heads: s.heads, keyMask: m, dropout: 0.5, training: false }));
    expect(Array.from(await evalOut.data())).toEqual(Array.from(Float32Array.from(plain.out)));
  });

  it('keeps about 1 - p of the weights and preserves the mean', async () => {
    // v = 1 everywhere: without dropout every output is 1; with dropout its mean stays ~1
    const B = 4;
    const T = 64;
    const D = 16;
    const q = tensor(Float32Array.from({ length: B * T * D }, (_, i) => Math.sin(i)), [B, T, D]);
    const k = tensor(Float32Array.from({ length: B * T * D }, (_, i) => Math.cos(i * 0.7)), [B, T, D]);
    const v = tensor(new Float32Array(B * T * D).fill(1), [B, T, D]);
    for (const where of ['direct', 'staged'] as Where[]) {
      manualSeed(5);
      const y = await withVariant(where, () => crossAttention(q, k, v, { heads: 2, dropout: 0.3 })).data();
      const mean = Array.from(y).reduce((a, b) => a + b, 0) / y.length;
      expect(Math.abs(mean - 1), where).toBeLessThan(0.03);
      expect(Math.max(...Array.from(y))).toBeGreaterThan(1.05); // some weight was dropped and the rest scaled up
    }
  });
});
