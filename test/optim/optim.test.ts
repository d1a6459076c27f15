import { describe, expect, it } from 'vitest';
import { tensor, manualSeed, randn, gpuRuntime, type Tensor } from '../../src/index.js';
import { SGD, Adam, AdamW, clipGradNorm, cosineAnnealing, linearWarmup, optimizerPreset, type Optimizer } from '../../src/optim/index.js';

function setGrad(p: Tensor, g: number[]): void {
  p.grad?.dispose();
  p.grad = tensor(Float32Array.from(g), p.shape, { backend: p.backend });
}

async function vals(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

describe('optimizers: hand-computed steps', () => {
  for (const backend of ['default', 'cpu'] as const) {
    it(`SGD momentum + weight decay (${backend})`, async () => {
      const p = tensor([1, -2], [2], { backend, requiresGrad: true });
      const opt = new SGD([p], { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
      // step 1: g' = g + wd·p = [0.5+0.5, 1-1] = [1, 0]; buf = g'; p = p - 0.1·buf = [0.9, -2]
      setGrad(p, [0.5, 1]);
      opt.step();
      expect((await vals(p)).map((v) => +v.toFixed(6))).toEqual([0.9, -2]);
      // step 2: g' = [0.5+0.45, 1-1] = [0.95, 0]; buf = 0.9·[1,0] + [0.95,0] = [1.85, 0]; p = [0.9-0.185, -2]
      setGrad(p, [0.5, 1]);
      opt.step();
      const v = await vals(p);
      expect(v[0]).toBeCloseTo(0.715, 5);
      expect(v[1]).toBeCloseTo(-2, 6);
      expect((await opt.status()).step).toBe(2);
      opt.dispose();
    });

    it(`Adam and AdamW first steps (${backend})`, async () => {
      const p = tensor([1], [1], { backend, requiresGrad: true });
      const q = tensor([1], [1], { backend, requiresGrad: true });
      const adam = new Adam([p], { lr: 0.01, weightDecay: 0.1 });
      const adamw = new AdamW([q], { lr: 0.01, weightDecay: 0.1 });
      setGrad(p, [0.2]);
      setGrad(q, [0.2]);
      adam.step();
      adamw.step();
      // Adam step 1 moves by lr·sign(g + wd·p) (m̂/√v̂ = ±1): 1 - 0.01 (up to eps)
      expect((await vals(p))[0]).toBeCloseTo(0.99, 5);
      // AdamW: p·(1 - lr·wd) - lr = 0.999 - 0.01
      expect((await vals(q))[0]).toBeCloseTo(0.989, 5);
      // step 2 with g = -0.2: Adam g' = -0.2 + 0.1·0.99 = -0.101
      setGrad(p, [-0.2]);
      adam.step();
      const g1 = 0.2 + 0.1, g2 = -0.2 + 0.1 * 0.99;
      const m = 0.9 * 0.1 * g1 + 0.1 * g2, v = 0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2;
      const expected = 0.99 - (0.01 / (1 - 0.81)) * (m / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8));
      expect((await vals(p))[0]).toBeCloseTo(expected, 5);
      adam.dispose();
      adamw.dispose();
    });

    it(`non-finite gradient or loss skips the step (${backend})`, async () => {
      const p = tensor([1, 2, 3], [3], { backend, requiresGrad: true });
      const opt = new Adam([p], { lr: 0.1 });
      setGrad(p, [1, NaN, 1]);
      opt.step();
      expect(await vals(p)).toEqual([1, 2, 3]);
      let s = await opt.status();
      expect(s.applied).toBe(false);
      expect(s.skippedSteps).toBe(1);
      expect(s.step).toBe(0);
      setGrad(p, [1, 1, 1]);
      opt.step({ loss: tensor([Infinity], [], { backend }) });
      expect(await vals(p)).toEqual([1, 2, 3]);
      opt.step({ loss: tensor([0.5], [], { backend }) });
      s = await opt.status();
      expect(s.applied).toBe(true);
      expect(s.step).toBe(1);
      expect(s.skippedSteps).toBe(2);
      expect((await vals(p))[0]).toBeCloseTo(0.9, 4);
      opt.dispose();
    });
  }
});

describe('optimizers: GPU fused kernel vs CPU reference', () => {
  const cases: [string, (ps: Tensor[]) => Optimizer][] = [
    ['sgd', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 1e-2, dampening: 0.1 })],
    ['sgd-nesterov-clip', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true, maxGradNorm: 0.5 })],
    ['adam', (ps) => new Adam(ps, { lr: 1e-2, weightDecay: 1e-3, decay: (_p, i) => i === 0 })],
    ['adamw-clip', (ps) => new AdamW(ps, { lr: 1e-2, maxGradNorm: 1 })],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      manualSeed(7);
      const shapes = [[5, 7], [7], [3, 2, 4]];
      const init = await Promise.all(shapes.map((s) => randn(s).data()));
      const gpuP = shapes.map((s, i) => tensor(init[i] as Float32Array, s, { requiresGrad: true }));
      const cpuP = shapes.map((s, i) => tensor(init[i] as Float32Array, s, { backend: 'cpu', requiresGrad: true }));
      const og = make(gpuP);
      const oc = make(cpuP);
      const rt = gpuRuntime();
      for (let step = 0; step < 4; step++) {
        const grads = await Promise.all(shapes.map((s) => randn(s, { std: 0.7 }).data()));
        shapes.forEach((_, i) => {
          // parameter 2 has no gradient on step 1: skipped by both
          if (step === 1 && i === 2) {
            gpuP[i].zeroGrad();
            cpuP[i].zeroGrad();
            return;
          }
          setGrad(gpuP[i], Array.from(grads[i]));
          setGrad(cpuP[i], Array.from(grads[i]));
        });
        const before = rt?.dispatchCount ?? 0;
        og.step();
        oc.step();
        if (rt) expect(rt.dispatchCount - before).toBe(2); // stats pass + one fused update
      }
      for (let i = 0; i < shapes.length; i++) {
        const a = await gpuP[i].data();
        const b = await cpuP[i].data();
        for (let k = 0; k < a.length; k++) expect(a[k]).toBeCloseTo(b[k], 4);
      }
      const sg = await og.stateDict();
      const sc = await oc.stateDict();
      expect(sg.step).toBe(4);
      expect(sc.step).toBe(4);
      for (const key of Object.keys(sc.state)) {
        const a = sg.state[key].data;
        const b = sc.state[key].data;
        for (let k = 0; k < a.length; k++) expect(a[k]).toBeCloseTo(b[k], 4);
      }
      // round trip of the state
      const og2 = make(gpuP);
      await og2.loadStateDict(sg);
      expect((await og2.status()).step).toBe(4);
      og.dispose();
      og2.dispose();
    });
  }
});

describe('clipping and schedules', () => {
  it('clipGradNorm scales to maxNorm and returns the norm', async () => {
    const a = tensor([3, 0], [2], { requiresGrad: true });
    const b = tensor([4], [1], { requiresGrad: true });
    setGrad(a, [3, 0]);
    setGrad(b, [4]);
    const n = clipGradNorm([a, b], 1)!;
    expect(await n.item()).toBeCloseTo(5, 5);
    expect((await vals(a.grad!))[0]).toBeCloseTo(0.6, 5);
    expect((await vals(b.grad!))[0]).toBeCloseTo(0.8, 5);
  });

  it('cosine annealing and warm-up follow their formulas; presets', () => {
    const p = tensor([1], [1], { backend: 'cpu', requiresGrad: true });
    const opt = new SGD([p], { lr: 1 });
    const cos = cosineAnnealing(opt, { tMax: 10, etaMin: 0.1 });
    expect(opt.lr).toBe(1);
    for (let i = 0; i < 5; i++) cos.step();
    expect(opt.lr).toBeCloseTo(0.55, 10);
    for (let i = 0; i < 10; i++) cos.step();
    expect(opt.lr).toBeCloseTo(0.1, 10);
    const opt2 = new Adam([p], { lr: 1e-4 });
    const warm = linearWarmup(opt2, { warmupSteps: 4, startFactor: 0.25, then: { cosine: { tMax: 8 } } });
    expect(opt2.lr).toBeCloseTo(0.25e-4, 12);
    warm.step();
    expect(opt2.lr).toBeCloseTo(0.4375e-4, 12);
    for (let i = 0; i < 3; i++) warm.step();
    expect(opt2.lr).toBeCloseTo(1e-4, 12);
    for (let i = 0; i < 4; i++) warm.step();
    expect(opt2.lr).toBeCloseTo(0.5e-4, 12);
    const paper = optimizerPreset('paper', [p], { epochs: 2, stepsPerEpoch: 5 });
    expect(paper.optimizer.kind).toBe('sgd');
    expect(paper.optimizer.lr).toBe(1e-2);
    expect(paper.optimizer.hyperParameters.weightDecay).toBe(1e-4);
    const ref = optimizerPreset('reference-code', [p], { epochs: 100, stepsPerEpoch: 10 });
    expect(ref.optimizer.kind).toBe('adam');
    for (let i = 0; i < 500; i++) ref.scheduler.step();
    expect(ref.optimizer.lr).toBeCloseTo(1e-4, 12);
    // The recipe: warm-up over 10 % of the run whatever its length, then cosine to 0 at the end.
    const recipe = optimizerPreset('recipe', [p], { epochs: 10, stepsPerEpoch: 12 });
    expect(recipe.optimizer.kind).toBe('adamw');
    expect(recipe.optimizer.lr).toBeCloseTo(2e-4, 12);
    for (let i = 0; i < 12; i++) recipe.scheduler.step();
    expect(recipe.optimizer.lr).toBeCloseTo(2e-3, 12);
    for (let i = 0; i < 108; i++) recipe.scheduler.step();
    expect(recipe.optimizer.lr).toBeCloseTo(0, 12);
    expect(() => optimizerPreset('nesterov' as never, [p], { epochs: 1, stepsPerEpoch: 1 })).toThrow(/paper, reference-code, recipe/);
  });
});
