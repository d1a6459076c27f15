// The losses built on the fused ops: cosine baseline, one-stage variant, learnable tau, GRAM settings.
import { describe, expect, it } from 'vitest';
import { composedGramContrastiveLoss, cosineContrastiveLoss, gramContrastiveLoss, oneStageGramLoss } from '../../src/alignment/index.js';
import { stack, tensor, tidy } from '../../src/index.js';
import { expectClose, gramInputs, leaf, type Where } from './helpers.js';

describe('alignment losses', () => {
  it('cosineContrastiveLoss is the two-direction softmax over mean cosine / tau (direct loops, float64)', async () => {
    const B = 5, K = 4, D = 7, tau = 0.2;
    const { a, o } = gramInputs(80, B, K, D, 0.7);
    const norm = (v: Float64Array, off: number) => Math.sqrt(Array.from(v.subarray(off, off + D)).reduce((s, x) => s + x * x, 0));
    const x = new Float64Array(B * B);
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < B; j++) {
        let s = 0;
        for (let k = 0; k < K - 1; k++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a[j * D + d] * o[(i * (K - 1) + k) * D + d];
          s += dot / (norm(a, j * D) * norm(o, (i * (K - 1) + k) * D));
        }
        x[i * B + j] = s / (K - 1) / tau;
      }
    }
    const lse = (vals: number[]) => {
      const m = Math.max(...vals);
      return m + Math.log(vals.reduce((p, v) => p + Math.exp(v - m), 0));
    };
    let want = 0;
    for (let i = 0; i < B; i++) {
      want += lse(Array.from({ length: B }, (_, j) => x[i * B + j])) - x[i * B + i];
      want += lse(Array.from({ length: B }, (_, j) => x[j * B + i])) - x[i * B + i];
    }
    want /= B;
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      const got = await tidy(() => cosineContrastiveLoss(leaf(a, [B, D], where, false), leaf(o, [B, K - 1, D], where, false), { tau })).item();
      expect(Math.abs(got - want) / want, where).toBeLessThan(where === 'cpu64' ? 1e-12 : 1e-5);
    }
  });

  it('oneStageGramLoss equals gramContrastiveLoss(first, stack(rest, 1)), gradients to every modality', async () => {
    const B = 6, D = 9;
    const mods = [0, 1, 2, 3].map((k) => gramInputs(90 + k, B, 2, D, 0.5).a);
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      const ts = mods.map((m) => leaf(m, [B, D], where));
      const L1 = oneStageGramLoss(ts, { tau: 0.2 });
      L1.backward();
      const ts2 = mods.map((m) => leaf(m, [B, D], where));
      const L2 = tidy(() => gramContrastiveLoss(ts2[0], stack(ts2.slice(1), 1), { tau: 0.2 }));
      L2.backward();
      expect(Math.abs((await L1.item()) - (await L2.item()))).toBeLessThan(1e-6);
      for (let k = 0; k < 4; k++) expectClose(await ts[k].grad!.data(), await ts2[k].grad!.data(), 1e-6, `${where} modality ${k}`);
    }
  });

  it('learnableTau = log tau gives the fixed-tau loss, and its gradient matches on both backends', async () => {
    const B = 8, K = 3, D = 12, tau = 0.15;
    const { a, o } = gramInputs(95, B, K, D, 0.6);
    const grads: number[] = [];
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      const lt = where === 'cpu64' ? tensor([Math.log(tau)], [1], { backend: 'cpu', dtype: 'float64', requiresGrad: true }) : tensor([Math.log(tau)], [1], { requiresGrad: true });
      const A = leaf(a, [B, D], where);
      const O = leaf(o, [B, K - 1, D], where);
      const L = gramContrastiveLoss(A, O, { learnableTau: lt });
      const fixed = await tidy(() => gramContrastiveLoss(leaf(a, [B, D], where, false), leaf(o, [B, K - 1, D], where, false), { tau })).item();
      expect(Math.abs((await L.item()) - fixed) / fixed).toBeLessThan(1e-5);
      L.backward();
      grads.push((await lt.grad!.data())[0]);
      expect(A.grad).not.toBeNull();
    }
    expect(Math.abs(grads[1] - grads[0]) / Math.abs(grads[0])).toBeLessThan(1e-3);
    // tau given as a tensor (not log-parametrized): dL/dτ = dL/dlog τ / τ
    const tt = tensor([tau], [1], { backend: 'cpu', dtype: 'float64', requiresGrad: true });
    const L = gramContrastiveLoss(leaf(a, [B, D], 'cpu64', false), leaf(o, [B, K - 1, D], 'cpu64', false), { tau: tt });
    L.backward();
    expect(Math.abs((await tt.grad!.data())[0] - grads[0] / tau) / Math.abs(grads[0] / tau)).toBeLessThan(1e-9);
  });

  it('GRAM settings (mean of the directions, label smoothing 0.1) match the composition', async () => {
    const B = 10, K = 4, D = 16;
    const { a, o } = gramInputs(96, B, K, D, 0.6);
    const opts = { tau: 0.07, labelSmoothing: 0.1, reduction: 'mean' as const };
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      const x = await tidy(() => gramContrastiveLoss(leaf(a, [B, D], where, false), leaf(o, [B, K - 1, D], where, false), opts)).item();
      const y = await tidy(() => composedGramContrastiveLoss(leaf(a, [B, D], where, false), leaf(o, [B, K - 1, D], where, false), opts)).item();
      expect(Math.abs(x - y) / y, where).toBeLessThan(where === 'cpu64' ? 1e-12 : 1e-5);
    }
  });
});
