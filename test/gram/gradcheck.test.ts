// Finite-difference gradient checks of the full losses on the CPU reference in float64.
import { describe, expect, it } from 'vitest';
import { contrastiveSoftmaxLoss, cosineContrastiveLoss, gramContrastiveLoss, oneStageGramLoss, type AlignmentLossOptions } from '../../src/alignment/index.js';
import { tensor, tidy, type Tensor } from '../../src/index.js';
import { gramInputs, mulberry32 } from './helpers.js';

const f64 = (v: Float64Array, shape: number[], requiresGrad = false) => tensor(v, shape, { backend: 'cpu', dtype: 'float64', requiresGrad });

/** Analytic gradients of loss(inputs) vs central differences, for every element of every input. */
async function gradcheck(values: Float64Array[], shapes: number[][], loss: (ts: Tensor[]) => Tensor, h = 1e-6, tol = 1e-6): Promise<void> {
  const ts = values.map((v, i) => f64(v, shapes[i], true));
  const L = loss(ts);
  L.backward();
  const analytic = await Promise.all(ts.map(async (t) => Float64Array.from(await t.grad!.data())));
  const evalAt = async (vals: Float64Array[]) => tidy(() => loss(vals.map((v, i) => f64(v, shapes[i])))).item();
  let scale = 0;
  for (const g of analytic) for (const x of g) scale = Math.max(scale, Math.abs(x));
  expect(scale).toBeGreaterThan(0);
  for (let t = 0; t < values.length; t++) {
    for (let e = 0; e < values[t].length; e++) {
      const plus = values.map((v) => Float64Array.from(v));
      const minus = values.map((v) => Float64Array.from(v));
      plus[t][e] += h;
      minus[t][e] -= h;
      const fd = ((await evalAt(plus)) - (await evalAt(minus))) / (2 * h);
      const err = Math.abs(fd - analytic[t][e]) / scale;
      if (!(err <= tol)) throw new Error(`input ${t} element ${e}: analytic ${analytic[t][e]} vs finite difference ${fd} (relative ${err.toExponential(2)})`);
    }
  }
}

function gramCase(B: number, K: number, D: number, seed: number) {
  const { a, o } = gramInputs(seed, B, K, D, 0.8);
  return { values: [a, o], shapes: [[B, D], [B, K - 1, D]] };
}

describe('finite-difference gradient checks (CPU, float64)', () => {
  const cases: [number, number, number, AlignmentLossOptions][] = [
    [4, 3, 5, { tau: 0.3 }],
    [3, 2, 4, { tau: 0.5, labelSmoothing: 0.2 }],
    [3, 5, 6, { tau: 0.4, labelSmoothing: 0.1, reduction: 'mean' }],
    [2, 8, 9, { tau: 1 }],
  ];
  for (const [B, K, D, opts] of cases) {
    it(`gramContrastiveLoss B=${B} K=${K} D=${D} ${JSON.stringify(opts)}`, async () => {
      const { values, shapes } = gramCase(B, K, D, 60 + K);
      await gradcheck(values, shapes, ([a, o]) => gramContrastiveLoss(a, o, opts));
    });
  }

  it('gramContrastiveLoss with a learnable (log-parametrized) tau', async () => {
    const { values, shapes } = gramCase(4, 3, 5, 70);
    await gradcheck([...values, Float64Array.of(Math.log(0.3))], [...shapes, [1]], ([a, o, lt]) => gramContrastiveLoss(a, o, { learnableTau: lt, labelSmoothing: 0.1 }));
  });

  it('cosineContrastiveLoss', async () => {
    const { values, shapes } = gramCase(4, 3, 5, 71);
    await gradcheck(values, shapes, ([a, o]) => cosineContrastiveLoss(a, o, { tau: 0.3 }));
  });

  it('oneStageGramLoss over four [B, D] modalities', async () => {
    const B = 3, D = 6;
    const r = mulberry32(72);
    const mods = Array.from({ length: 4 }, () => Float64Array.from({ length: B * D }, () => 2 * r() - 1));
    await gradcheck(mods, mods.map(() => [B, D]), (ts) => oneStageGramLoss(ts, { tau: 0.5 }));
  });

  it('contrastiveSoftmaxLoss', async () => {
    const r = mulberry32(73);
    const x = Float64Array.from({ length: 25 }, () => 3 * (2 * r() - 1));
    await gradcheck([x], [[5, 5]], ([t]) => contrastiveSoftmaxLoss(t, { labelSmoothing: 0.15, reduction: 'mean' }));
  });
});
