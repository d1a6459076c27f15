// contrastiveSoftmaxLoss against crossEntropy over rows and over columns, on both backends.
import { describe, expect, it } from 'vitest';
import { contrastiveSoftmaxLoss } from '../../src/alignment/index.js';
import { add, arange, crossEntropy, mul, tidy, transpose, type Tensor } from '../../src/index.js';
import { allFinite, expectClose, leaf, mulberry32, type Where } from './helpers.js';

function composed(x: Tensor, labelSmoothing: number, reduction: 'sum' | 'mean'): Tensor {
  return tidy(() => {
    const B = x.shape[0];
    const t = arange(0, B, 1, { backend: x.backend, dtype: 'int32' });
    const l = add(crossEntropy(x, t, { labelSmoothing }), crossEntropy(transpose(x), t, { labelSmoothing }));
    return reduction === 'mean' ? mul(l, 0.5) : l;
  });
}

function logits(B: number, seed: number, spread: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: B * B }, () => spread * (2 * r() - 1));
}

describe('contrastiveSoftmaxLoss', () => {
  const cases: [number, number, number, 'sum' | 'mean'][] = [
    [1, 0, 3, 'sum'],
    [5, 0, 3, 'sum'],
    [8, 0.1, 5, 'mean'],
    [9, 0.2, 2, 'sum'],
    [100, 0.05, 10, 'mean'],
    [257, 0, 4, 'sum'],
  ];
  for (const where of ['cpu64', 'gpu'] as Where[]) {
    for (const [B, eps, spread, reduction] of cases) {
      it(`${where}: B=${B} labelSmoothing=${eps} reduction=${reduction}`, async () => {
        const v = logits(B, B * 7 + 1, spread);
        const X1 = leaf(v, [B, B], where);
        const X2 = leaf(v, [B, B], where);
        const L1 = contrastiveSoftmaxLoss(X1, { labelSmoothing: eps, reduction });
        const L2 = composed(X2, eps, reduction);
        const l1 = await L1.item();
        const l2 = await L2.item();
        expect(Math.abs(l1 - l2)).toBeLessThanOrEqual((where === 'cpu64' ? 1e-12 : 2e-5) * Math.max(1, Math.abs(l2)));
        L1.backward();
        L2.backward();
        expectClose(await X1.grad!.data(), await X2.grad!.data(), where === 'cpu64' ? 1e-10 : 1e-4, 'dX');
      });
    }
  }

  it('is stable for large logits and scales the gradient by the upstream gradient', async () => {
    const B = 16;
    const v = logits(B, 3, 2000);
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      const X = leaf(v, [B, B], where);
      const L = contrastiveSoftmaxLoss(X);
      expect(Number.isFinite(await L.item())).toBe(true);
      const L3 = mul(L, 3);
      L3.backward();
      const g = await X.grad!.data();
      expect(allFinite(g)).toBe(true);
      const X2 = leaf(v, [B, B], where);
      contrastiveSoftmaxLoss(X2).backward();
      expectClose(g, Array.from(await X2.grad!.data(), (x) => 3 * x), 1e-6, 'scaled gradient');
    }
  });

  it('reads a transposed (strided) logit view', async () => {
    const B = 12;
    const v = logits(B, 9, 3);
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      const a = await tidy(() => contrastiveSoftmaxLoss(transpose(leaf(v, [B, B], where, false)), { labelSmoothing: 0.1 })).item();
      const b = await tidy(() => composed(transpose(leaf(v, [B, B], where, false)), 0.1, 'sum')).item();
      expect(Math.abs(a - b)).toBeLessThan(1e-5);
    }
  });
});
