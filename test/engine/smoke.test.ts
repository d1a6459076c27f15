import { describe, expect, it } from 'vitest';
import { tensor, matmul, softmax, sum, layerNorm, randn, manualSeed } from '../../src/index.js';

describe('smoke', () => {
  it('runs basic ops on the device', async () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]);
    const b = tensor([[1, 0], [0, 1], [1, 1]]);
    expect(Array.from(await matmul(a, b).data())).toEqual([4, 5, 10, 11]);
    expect(Array.from(await a.add(1).data())).toEqual([2, 3, 4, 5, 6, 7]);
    expect(Array.from(await sum(a, 1).data())).toEqual([6, 15]);
    const s = await softmax(a).data();
    expect(s[0] + s[1] + s[2]).toBeCloseTo(1, 5);
    const ln = await layerNorm(a).data();
    expect(ln[0]).toBeCloseTo(-1.2247, 3);
    manualSeed(1);
    const r = Array.from(await randn([1000]).data());
    const m = r.reduce((p, v) => p + v, 0) / 1000;
    expect(Math.abs(m)).toBeLessThan(0.15);
  });
  it('backward', async () => {
    const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    expect(Array.from(await x.grad!.data())).toEqual([2, 4, 6, 8]);
  });
});
