// Degenerate inputs: identical / collinear modality vectors (det -> 0), zero vectors, B = 1,
// K = 2, fewer dimensions than modalities, very large D. Never NaN; below the clamp no gradient.
import { describe, expect, it } from 'vitest';
import { gramContrastiveLoss, gramVolumeMatrix, VOL_CLAMP } from '../../src/alignment/index.js';
import { allFinite, expectClose, gramInputs, leaf, type Where } from './helpers.js';

const CLAMPED = Math.sqrt(VOL_CLAMP);

async function both(a: Float64Array, o: Float64Array, B: number, K: number, D: number, othersRank3 = true) {
  const out: Record<Where, { V: ArrayLike<number>; L: number; gA: ArrayLike<number>; gO: ArrayLike<number> }> = {} as never;
  for (const where of ['cpu64', 'gpu'] as Where[]) {
    const A = leaf(a, [B, D], where);
    const O = leaf(o, othersRank3 ? [B, K - 1, D] : [B, D], where);
    const V = gramVolumeMatrix(A, O);
    const L = gramContrastiveLoss(A, O);
    L.backward();
    out[where] = { V: await V.data(), L: await L.item(), gA: await A.grad!.data(), gO: await O.grad!.data() };
  }
  return out;
}

describe('degenerate inputs', () => {
  it('a modality identical to the anchor (and one collinear, scaled) gives det 0 on the diagonal, clamped, with finite gradients', async () => {
    const B = 6, K = 3, D = 16;
    const { a, o } = gramInputs(21, B, K, D, 0.5);
    for (let i = 0; i < B; i++) for (let d = 0; d < D; d++) o[(i * 2) * D + d] = (i % 2 === 0 ? 1 : 3.5) * a[i * D + d];
    const r = await both(a, o, B, K, D);
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      const { V, L, gA, gO } = r[where];
      expect(allFinite(V) && Number.isFinite(L) && allFinite(gA) && allFinite(gO), where).toBe(true);
      for (let i = 0; i < B; i++) expect(V[i * B + i], `${where} V[${i},${i}]`).toBeLessThan(where === 'cpu64' ? 1.0000001 * CLAMPED : 2e-3);
    }
    expect(r.cpu64.V[0]).toBe(CLAMPED);
    expectClose(r.gpu.V, r.cpu64.V, 2e-3, 'V');
  });

  it('all modalities identical: every Gram singular; the CPU gradient is exactly zero (below the clamp)', async () => {
    const B = 4, K = 4, D = 8;
    const { a } = gramInputs(22, B, K, D, 0.5);
    const o = new Float64Array(B * (K - 1) * D);
    for (let i = 0; i < B; i++) for (let k = 0; k < K - 1; k++) for (let d = 0; d < D; d++) o[(i * (K - 1) + k) * D + d] = a[i * D + d];
    const r = await both(a, o, B, K, D);
    expect(Array.from(r.cpu64.V).every((v) => v === CLAMPED)).toBe(true);
    expect(Array.from(r.cpu64.gA).every((g) => g === 0) && Array.from(r.cpu64.gO).every((g) => g === 0)).toBe(true);
    expect(allFinite(r.gpu.V) && allFinite(r.gpu.gA) && allFinite(r.gpu.gO)).toBe(true);
    expect(Math.max(...Array.from(r.gpu.V))).toBeLessThan(2e-3);
  });

  it('zero vectors (an anchor and an other modality) never give NaN and agree across backends', async () => {
    const B = 5, K = 3, D = 12;
    const { a, o } = gramInputs(23, B, K, D, 0.7);
    for (let d = 0; d < D; d++) {
      a[2 * D + d] = 0; // anchor of sample 2
      o[(3 * 2 + 1) * D + d] = 0; // second other modality of sample 3
    }
    const r = await both(a, o, B, K, D);
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      const { V, L, gA, gO } = r[where];
      expect(allFinite(V) && Number.isFinite(L) && allFinite(gA) && allFinite(gO), where).toBe(true);
      for (let i = 0; i < B; i++) expect(V[i * B + 2], `${where} column of the zero anchor`).toBeCloseTo(CLAMPED, 9);
      for (let j = 0; j < B; j++) expect(V[3 * B + j], `${where} row of the zero modality`).toBeCloseTo(CLAMPED, 9);
    }
    expectClose(r.gpu.V, r.cpu64.V, 1e-4, 'V');
    expectClose(r.gpu.gA, r.cpu64.gA, 1e-3, 'd anchor');
    expectClose(r.gpu.gO, r.cpu64.gO, 1e-3, 'd others');
    // a zero vector only enters clamped pairs: its gradient is zero
    for (let d = 0; d < D; d++) expect(r.cpu64.gA[2 * D + d]).toBe(0);
  });

  it('fewer dimensions than modalities (D = 2, K = 3): every volume is clamped', async () => {
    const B = 4, K = 3, D = 2;
    const { a, o } = gramInputs(24, B, K, D, 0.9);
    const r = await both(a, o, B, K, D);
    expect(Array.from(r.cpu64.V).every((v) => v < 1.0000001 * CLAMPED)).toBe(true);
    expect(allFinite(r.gpu.gA) && allFinite(r.gpu.gO)).toBe(true);
  });

  it('B = 1: V is [1, 1] and the loss (one logit per row and column) is 0 with zero gradients', async () => {
    const { a, o } = gramInputs(25, 1, 3, 7, 0.5);
    const r = await both(a, o, 1, 3, 7);
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      expect(r[where].V.length).toBe(1);
      expect(Math.abs(r[where].L)).toBeLessThan(1e-6);
      expect(Math.max(...Array.from(r[where].gA, Math.abs))).toBeLessThan(1e-6);
    }
  });

  it('K = 2 with others given as [B, D]', async () => {
    const B = 9, D = 10;
    const { a, o } = gramInputs(26, B, 2, D, 0.6);
    const r = await both(a, o, B, 2, D, false);
    // K = 2: V = sin of the angle between the anchor and the other modality
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < B; j++) {
        let ab = 0, aa = 0, bb = 0;
        for (let d = 0; d < D; d++) {
          ab += a[j * D + d] * o[i * D + d];
          aa += a[j * D + d] ** 2;
          bb += o[i * D + d] ** 2;
        }
        const c = ab / Math.sqrt(aa * bb);
        expect(r.cpu64.V[i * B + j]).toBeCloseTo(Math.sqrt(Math.max(1 - c * c, VOL_CLAMP)), 12);
      }
    }
    expectClose(r.gpu.V, r.cpu64.V, 1e-4, 'V');
    expectClose(r.gpu.gO, r.cpu64.gO, 1e-3, 'd others');
  });

  it('very large D (100003, not a multiple of 4 or 8)', async () => {
    const B = 3, K = 3, D = 100003;
    const { a, o } = gramInputs(27, B, K, D, 1.0);
    const r = await both(a, o, B, K, D);
    expectClose(r.gpu.V, r.cpu64.V, 1e-4, 'V');
    expect(Math.abs(r.gpu.L - r.cpu64.L) / r.cpu64.L).toBeLessThan(1e-4);
    expectClose(r.gpu.gA, r.cpu64.gA, 1e-3, 'd anchor');
    expectClose(r.gpu.gO, r.cpu64.gO, 1e-3, 'd others');
  });
});
