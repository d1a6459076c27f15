// Parity with PyTorch float64 golden values (tools/gram_golden.py -> test/fixtures/gram/golden.json):
// forward relative error <= 1e-4, gradients <= 1e-3, on the CPU reference (float64) and on WebGPU.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contrastiveSoftmaxLoss, gramContrastiveLoss, gramVolumeMatrix } from '../../src/alignment/index.js';
import { mul, tidy } from '../../src/index.js';
import { expectClose, gramInputs, leaf, maxAbs, type Where } from './helpers.js';

interface Sampled {
  index: number[];
  value: number[];
  sum: number;
  sumsq?: number;
  absmax?: number;
}
interface GoldenCase {
  name: string;
  seed: number;
  B: number;
  K: number;
  D: number;
  noise: number;
  tau: number;
  smoothing: number;
  reduction: 'sum' | 'mean';
  loss: number;
  V: Sampled;
  gradAnchor: Sampled;
  gradOthers: Sampled;
}

const golden = JSON.parse(readFileSync(new URL('../fixtures/gram/golden.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] };

function pick(a: ArrayLike<number>, idx: number[]): number[] {
  return idx.map((i) => a[i]);
}

function checkGrad(got: ArrayLike<number>, want: Sampled, what: string): void {
  const scale = want.absmax ?? maxAbs(want.value);
  let e = 0;
  want.index.forEach((ix, n) => (e = Math.max(e, Math.abs(got[ix] - want.value[n]))));
  if (!(e <= 1e-3 * scale)) throw new Error(`${what}: sampled gradient error ${(e / scale).toExponential(3)} (relative to max |g|) exceeds 1e-3`);
  let sq = 0;
  for (let i = 0; i < got.length; i++) sq += got[i] * got[i];
  expect(Math.abs(sq - want.sumsq!) / want.sumsq!, `${what}: ‖g‖²`).toBeLessThan(2e-3);
}

describe('golden values from PyTorch float64', () => {
  for (const where of ['cpu64', 'gpu'] as Where[]) {
    for (const c of golden.cases) {
      it(`${c.name} (B=${c.B} K=${c.K} D=${c.D}) on ${where}`, async () => {
        const { a, o } = gramInputs(c.seed, c.B, c.K, c.D, c.noise);
        const A = leaf(a, [c.B, c.D], where);
        const O = leaf(o, [c.B, c.K - 1, c.D], where);
        const opts = { tau: c.tau, labelSmoothing: c.smoothing, reduction: c.reduction };
        const V = gramVolumeMatrix(A, O);
        const loss = gramContrastiveLoss(A, O, opts);
        const lv = await loss.item();
        expect(Math.abs(lv - c.loss) / Math.abs(c.loss), 'loss').toBeLessThan(1e-4);
        const vv = await V.data();
        expectClose(pick(vv, c.V.index), c.V.value, 1e-4, 'V samples');
        let vs = 0;
        for (const x of vv) vs += x;
        expect(Math.abs(vs - c.V.sum) / Math.abs(c.V.sum), 'ΣV').toBeLessThan(1e-4);
        loss.backward();
        checkGrad(await A.grad!.data(), c.gradAnchor, 'd anchor');
        checkGrad(await O.grad!.data(), c.gradOthers, 'd others');
        for (const t of [A, O, V, loss]) t.dispose();
      });
    }
  }

  it('the unfused node pair (gramVolumeMatrix -> scale -> contrastiveSoftmaxLoss) matches too', async () => {
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      for (const c of golden.cases.filter((x) => x.B <= 48)) {
        const { a, o } = gramInputs(c.seed, c.B, c.K, c.D, c.noise);
        const A = leaf(a, [c.B, c.D], where);
        const O = leaf(o, [c.B, c.K - 1, c.D], where);
        const loss = tidy(() => contrastiveSoftmaxLoss(mul(gramVolumeMatrix(A, O), -1 / c.tau), { labelSmoothing: c.smoothing, reduction: c.reduction }));
        expect(Math.abs((await loss.item()) - c.loss) / Math.abs(c.loss), `${c.name} ${where} loss`).toBeLessThan(1e-4);
        loss.backward();
        checkGrad(await A.grad!.data(), c.gradAnchor, `${c.name} ${where} d anchor`);
        checkGrad(await O.grad!.data(), c.gradOthers, `${c.name} ${where} d others`);
        for (const t of [A, O, loss]) t.dispose();
      }
    }
  });
});
