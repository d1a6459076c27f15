// Model logic on the CPU reference backend (no shader compilation: fast): a float64 gradient
// check, every ablation switch, every missing-modality pattern, the skeleton-only setup and the
// continuous-score head, forward and backward without NaN.
import { describe, expect, it } from 'vitest';
import { manualSeed, noGrad, type Tensor } from '../../src/index.js';
import { DualAlign, collate, resolveConfig, skeletonOnlyConfig, type DualAlignConfig } from '../../src/models/index.js';
import { useComposedAlignment } from '../../src/models/losses.js';
import { withParamOptions } from '../../src/nn/init.js';
import type { Sample } from '../../src/data/types.js';
import { makeSamples, smallConfig } from './helpers.js';
import { RECIPE } from '../../src/optim/presets.js';
import { ordinalTargets } from '../../src/models/heads.js';

const cpu = { backend: 'cpu' as const };

function cpuModel(cfg: DualAlignConfig, dtype: 'float32' | 'float64' = 'float32'): DualAlign {
  return withParamOptions({ backend: 'cpu', dtype }, () => new DualAlign(cfg));
}

async function finite(t: Tensor): Promise<boolean> {
  return Array.from(await t.data()).every(Number.isFinite);
}

async function forwardBackward(cfg: DualAlignConfig, samples: Sample[], train = true) {
  manualSeed(3);
  const model = cpuModel(cfg);
  model.train(train);
  const batch = collate(samples, model.config, cpu);
  const l = model.loss(batch);
  for (const k of ['total', 'grade', 'vfs', 'vit', 'oneStage'] as const) expect(await finite(l[k]), `${k} finite`).toBe(true);
  l.total.backward();
  const bad: string[] = [];
  for (const [n, p] of model.namedParameters()) if (p.grad && !(await finite(p.grad))) bad.push(n);
  expect(bad, 'non-finite gradients').toEqual([]);
  const pred = await model.predict(batch);
  expect(pred.probabilities.length).toBe(samples.length);
  const summary = model.summary();
  expect(summary.totalParams).toBe(model.paramCount());
  expect(summary.rows.reduce((s, r) => s + r.params, 0)).toBe(model.paramCount());
  expect(summary.flopsPerSample).toBeGreaterThan(0);
  for (const p of pred.probabilities) expect(p.every(Number.isFinite)).toBe(true);
  return { model, loss: l, pred };
}

describe('gradient check (CPU, float64)', () => {
  for (const composed of [true, false]) {
    it(`finite differences match autograd (${composed ? 'composed GRAM' : 'src/alignment GRAM when available'})`, async () => {
      useComposedAlignment(composed);
      try {
        manualSeed(11);
        const cfg = smallConfig({ dropout: 0, d1: 8, d2: 4, d3: 4, heads: 2 });
        const model = cpuModel(cfg, 'float64');
        // sample 2 lacks text (placeholder), sample 1 lacks flow (gated block, excluded from L_vfs),
        // sample 3 has no grade (alignment terms only)
        const samples = makeSamples(4, { clips: 2, fpc: 2, imageFrames: 3, missing: { text: [2], flow: [1] } }).map((s, i) => (i === 3 ? { ...s, grade: undefined } : s));
        const batch = collate(samples, model.config, { backend: 'cpu', dtype: 'float64' });
        const l = model.loss(batch);
        l.total.backward();
        const named = Object.fromEntries(model.namedParameters());
        const probes: [string, number][] = [
          ['encoders.video.proj.weight', 5],
          ['encoders.flow.proj.bias', 1],
          ['encoders.skeleton.gcn0.weight', 3],
          ['fusion.spatialEn.kv.weight', 7],
          ['fusion.temporalEn.o.weight', 2],
          ['stage1Out.weight', 4],
          ['temporalModulate.conv.weight', 6],
          ['temporalModulate.pool.score.weight', 1],
          ['enhanceText.q.weight', 3],
          ['enhance.normKv.weight', 2],
          ['textPlaceholder', 1],
          ['textEmbed.weight', 0],
        ];
        const lossAt = () => noGrad(() => model.loss(batch).total.storage.handle[0] as number);
        for (const [name, k] of probes) {
          const p = named[name];
          expect(p, name).toBeDefined();
          const arr = p.storage.handle as Float64Array;
          const g = (p.grad!.storage.handle as Float64Array)[p.grad!.offset + k];
          const eps = 1e-6;
          const orig = arr[p.offset + k];
          arr[p.offset + k] = orig + eps;
          const lp = lossAt();
          arr[p.offset + k] = orig - eps;
          const lm = lossAt();
          arr[p.offset + k] = orig;
          const fd = (lp - lm) / (2 * eps);
          expect(Math.abs(fd - g), `${name}[${k}]: fd ${fd} vs autograd ${g}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(fd));
        }
      } finally {
        useComposedAlignment(false);
      }
    });
  }
});

describe('ablation switches (Table 6, Fig. 9)', () => {
  const samples = makeSamples(5, { clips: 3 });
  const cases: [string, Partial<DualAlignConfig>][] = [
    ['no alignment', { alignment: 'none' }],
    ['cosine instead of GRAM', { alignment: 'cosine' }],
    ['one-stage GRAM', { alignment: 'one-stage-gram' }],
    ['only L_vfs', { alignment: 'vfs-only' }],
    ['only L_vit', { alignment: 'vit-only' }],
    ['reversed order (text first)', { order: 'text-first' }],
    ['w/o video', { removeModalities: ['video'] }],
    ['w/o flow', { removeModalities: ['flow'] }],
    ['w/o skeleton', { removeModalities: ['skeleton'] }],
    ['w/o text', { removeModalities: ['text'] }],
    ['w/o image', { removeModalities: ['image'] }],
    ['w/o text and image', { removeModalities: ['text', 'image'] }],
    ['one-stage concat', { fusionMode: 'concat' }],
    ['one-stage add', { fusionMode: 'add' }],
    ['one-stage cross-attention', { fusionMode: 'cross-attention' }],
    ['one-stage concat + one-stage GRAM', { fusionMode: 'concat', alignment: 'one-stage-gram' }],
    ["authors' stage-1 arrangement", { stage1Arrangement: 'authors' }],
    ['enhance keys text only', { enhanceKeys: 'text' }],
  ];
  for (const [name, over] of cases) {
    it(name, async () => {
      const { loss } = await forwardBackward(smallConfig(over), samples);
      const v = (t: Tensor) => (t.storage.handle as Float32Array)[t.offset];
      const a = over.alignment;
      if (a === 'none' || (over.fusionMode && !a)) {
        expect(v(loss.vfs)).toBe(0);
        expect(v(loss.vit)).toBe(0);
      }
      if (a === 'vfs-only') expect(v(loss.vit)).toBe(0);
      if (a === 'vit-only') expect(v(loss.vfs)).toBe(0);
      if (a === 'one-stage-gram') expect(v(loss.oneStage)).toBeGreaterThan(0);
      expect(v(loss.total)).toBeCloseTo(v(loss.grade) + v(loss.vfs) + v(loss.vit) + v(loss.oneStage), 4);
    });
  }
});

describe('missing modalities (§5.4)', () => {
  const patterns: Record<string, Record<string, number[]>> = {
    'flow missing': { flow: [0, 2] },
    'skeleton missing': { skeleton: [1] },
    'text missing': { text: [0, 1, 2, 3] },
    'flow + skeleton + text missing': { flow: [3], skeleton: [3], text: [3] },
    'everything but video missing in one sample, others mixed': { flow: [0, 1], skeleton: [0, 2], text: [0, 3], image: [0] },
  };
  for (const [name, missing] of Object.entries(patterns)) {
    it(name, async () => {
      const samples = makeSamples(4, { missing });
      const { pred } = await forwardBackward(smallConfig(), samples);
      for (const [m, idx] of Object.entries(missing)) for (const i of idx) expect(pred.modalitiesPresent[i][m]).toBe(false);
      await forwardBackward(smallConfig({ stage1Arrangement: 'authors' }), samples);
      await forwardBackward(smallConfig(), samples, false);
    });
  }
  it('a missing modality changes nothing but its own contribution: missing text = placeholder', async () => {
    manualSeed(5);
    const model = cpuModel(smallConfig());
    const full = makeSamples(2);
    const noText = makeSamples(2, { missing: { text: [0, 1] } });
    const a = await model.predict(collate(full, model.config, cpu));
    const b = await model.predict(collate(noText, model.config, cpu));
    expect(Array.from(a.probabilities[0])).not.toEqual(Array.from(b.probabilities[0]));
    // flow missing for one sample only does not change the other sample
    const oneFlow = makeSamples(2, { missing: { flow: [1] } });
    const c = await model.predict(collate(oneFlow, model.config, cpu));
    Array.from(a.probabilities[0]).forEach((v, k) => expect(c.probabilities[0][k]).toBeCloseTo(v, 6));
  });
  it('training-time modality dropout runs and never drops the anchor', async () => {
    await forwardBackward(smallConfig({ modalityDropout: { flow: 0.5, skeleton: 0.5, text: 0.5 } }), makeSamples(6));
    expect(() => new DualAlign(smallConfig({ modalityDropout: { video: 0.1 } }))).toThrow(/anchor/);
  });
  it('a missing anchor is an error', async () => {
    const model = cpuModel(smallConfig());
    expect(() => model.forward(collate(makeSamples(2, { missing: { video: [1] } }), model.config, cpu))).toThrow(/anchor modality 'video' is missing/);
  });
});

describe('other setups', () => {
  it('skeleton-only (positions anchor, angles, text) by configuration', async () => {
    const cfg = skeletonOnlyConfig({ numGrades: 3, layout: 'uiprmd22', d1: 16, d2: 8, d3: 8, heads: 2, clips: 4, gcnChannels: [8, 8] });
    let s = 9;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5);
    const samples: Sample[] = Array.from({ length: 4 }, (_, i) => ({
      id: `u${i}`,
      action: 'e1',
      grade: i % 3,
      modalities: {
        positions: { data: Float32Array.from({ length: 20 * 22 * 3 }, rnd), shape: [20, 22, 3] },
        angles: { data: Float32Array.from({ length: 20 * 22 * 3 }, () => rnd() * 90), shape: [20, 22, 3] },
        text: i === 3 ? undefined : { data: Float32Array.from({ length: 512 }, rnd), shape: [512] },
      },
    }));
    const { model } = await forwardBackward(cfg, samples);
    expect(model.modalities).toEqual(['positions', 'angles', 'text']);
    expect(model.config.anchor).toBe('positions');
  });

  it('continuous scores: coarse-to-fine ETF', async () => {
    const cfg = smallConfig({ task: 'score', numGrades: undefined, scoreRange: [0, 100], coarseBins: 4, fineBins: 3, d3: 8 });
    const { pred, model } = await forwardBackward(cfg, makeSamples(4));
    expect(pred.grades).toBeNull();
    expect(pred.scores!.length).toBe(4);
    for (const s of pred.scores!) expect(s >= 0 && s <= 100).toBe(true);
    expect(pred.probabilities[0].length).toBe(12);
    const sum = pred.probabilities[0].reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
    // targets: score 62 in [0,100) with 4 coarse bins -> coarse 2 (50..75), fine (62-50)/25*3 = 1.44 -> 1
    const head = model.head as import('../../src/models/heads.js').CoarseToFineHead;
    const t = head.targets((await import('../../src/index.js')).tensor([62, 0, 99.9, 100], [4], cpu));
    expect(Array.from(await t.coarse.data())).toEqual([2, 0, 3, 3]);
    expect(Array.from(await t.fine.data())).toEqual([1, 0, 2, 2]);
    expect(head.scoreOf(2, 1)).toBeCloseTo(50 + 25 * 1.5 / 3, 10);
  });

  it('the skeleton encoder splits a large batch into chunks with the same result', async () => {
    const { GraphStreamEncoder } = await import('../../src/models/blocks.js');
    manualSeed(8);
    const model = cpuModel(smallConfig({ dropout: 0 }));
    const batch = collate(makeSamples(5), model.config, cpu);
    const a = await model.forward(batch).probabilities.data();
    GraphStreamEncoder.chunkBytes = 26 * 6 * 8 * 4 * 2; // two samples per chunk
    try {
      const l = model.loss(batch);
      l.total.backward();
      const b = await model.forward(batch).probabilities.data();
      Array.from(a).forEach((v, i) => expect(b[i]).toBeCloseTo(v, 6));
    } finally {
      GraphStreamEncoder.chunkBytes = null;
    }
  });

  it('custom joint layout and Kinect / COCO layouts', async () => {
    for (const [layout, J] of [['kinect25', 25], ['coco17', 17], [{ joints: 5, edges: [[0, 1], [1, 2], [2, 3], [3, 4]] }, 5]] as const) {
      const cfg = smallConfig({
        streams: [
          { name: 'video', kind: 'linear', inputDim: 12 },
          { name: 'flow', kind: 'linear', inputDim: 10 },
          { name: 'skeleton', kind: 'graph', inputDim: 3, layout: layout as never, gcnChannels: [4, 6] },
        ],
      });
      await forwardBackward(cfg, makeSamples(3, { joints: J }));
    }
  });
});

describe('missing labels (semi-supervised training)', () => {
  const unlabel = (samples: Sample[], idx: number[], key: 'grade' | 'score' = 'grade') => samples.map((s, i) => (idx.includes(i) ? { ...s, [key]: undefined } : s));
  const val = (t: Tensor) => (t.storage.handle as Float32Array)[t.offset];

  it('L_grade over the labeled samples only; the alignment terms over all', async () => {
    manualSeed(12);
    const model = cpuModel(smallConfig({ dropout: 0 }));
    const all = makeSamples(5);
    const part = unlabel(all, [1, 3]);
    const full = model.loss(collate(all, model.config, cpu));
    const mixed = model.loss(collate(part, model.config, cpu));
    const onlyLabeled = model.loss(collate([all[0], all[2], all[4]], model.config, cpu));
    expect(mixed.labeled).toBe(3);
    expect(full.labeled).toBe(5);
    expect(val(mixed.grade)).toBeCloseTo(val(onlyLabeled.grade), 6);
    expect(val(mixed.grade)).not.toBeCloseTo(val(full.grade), 6);
    expect(val(mixed.vfs)).toBeCloseTo(val(full.vfs), 6);
    expect(val(mixed.vit)).toBeCloseTo(val(full.vit), 6);
    mixed.total.backward();
    for (const [n, p] of model.namedParameters()) if (p.grad) expect(await finite(p.grad), n).toBe(true);
  });

  it('a batch without any label trains the alignment terms only', async () => {
    manualSeed(13);
    const model = cpuModel(smallConfig());
    const batch = collate(unlabel(makeSamples(4), [0, 1, 2, 3]), model.config, cpu);
    expect(batch.grades).toBeUndefined();
    const l = model.loss(batch);
    expect(l.labeled).toBe(0);
    expect(val(l.grade)).toBe(0);
    expect(val(l.vfs)).toBeGreaterThan(0);
    expect(val(l.total)).toBeCloseTo(val(l.vfs) + val(l.vit), 5);
    l.total.backward();
    expect(await finite(model.encoders.get('flow')!.parameters()[0].grad!)).toBe(true);
    // a hand-built batch without labels or hasGrade is an error that says what to set
    const { hasGrade: _h, ...noLabels } = batch;
    expect(() => model.loss(noLabels)).toThrow(/no grades .*hasGrade/);
  });

  it('continuous scores with missing labels', async () => {
    manualSeed(14);
    const cfg = smallConfig({ task: 'score', numGrades: undefined, coarseBins: 4, fineBins: 3, dropout: 0 });
    const model = cpuModel(cfg);
    const all = makeSamples(4);
    const mixed = model.loss(collate(unlabel(all, [0], 'score'), model.config, cpu));
    const only = model.loss(collate(all.slice(1), model.config, cpu));
    expect(mixed.labeled).toBe(3);
    expect(val(mixed.grade)).toBeCloseTo(val(only.grade), 6);
    mixed.total.backward();
    expect(await finite(mixed.total)).toBe(true);
  });
});

describe('predictions and blocks', () => {
  it('grade task: argmax grade and the expected grade Σ p·g as score', async () => {
    manualSeed(15);
    const model = cpuModel(smallConfig());
    const pred = await model.predict(collate(makeSamples(3), model.config, cpu));
    pred.probabilities.forEach((p, i) => {
      const expected = p.reduce((s, v, g) => s + v * g, 0);
      expect(pred.scores[i]).toBeCloseTo(expected, 5);
      expect(pred.grades![i]).toBe(p.indexOf(Math.max(...p)));
    });
  });

  it('TemporalModulate is a temporal block: frame order matters (mean pooling would not)', async () => {
    const { TemporalModulate } = await import('../../src/models/blocks.js');
    const { tensor } = await import('../../src/index.js');
    manualSeed(16);
    const tm = withParamOptions({ backend: 'cpu' }, () => new TemporalModulate(4, 6, 3, 0));
    const T = 5;
    const x = Float32Array.from({ length: T * 4 }, (_, i) => Math.sin(i * 1.7));
    const rev = new Float32Array(T * 4);
    for (let t = 0; t < T; t++) rev.set(x.subarray((T - 1 - t) * 4, (T - t) * 4), t * 4);
    const a = await tm.forward(tensor(x, [1, T, 4], cpu)).pooled.data();
    const b = await tm.forward(tensor(rev, [1, T, 4], cpu)).pooled.data();
    const diff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    expect(diff).toBeGreaterThan(1e-4);
  });
});

describe('loss weights and modality dropout', () => {
  const val = (t: Tensor) => (t.storage.handle as Float32Array)[t.offset];

  it('total = L_grade + λ1·L_vfs + λ2·L_vit with non-default λ', async () => {
    manualSeed(17);
    const model = cpuModel(smallConfig({ lambda1: 0.25, lambda2: 3, dropout: 0 }));
    const l = model.loss(collate(makeSamples(4), model.config, cpu));
    expect(val(l.vfs)).toBeGreaterThan(0);
    expect(val(l.vit)).toBeGreaterThan(0);
    expect(val(l.total)).toBeCloseTo(val(l.grade) + 0.25 * val(l.vfs) + 3 * val(l.vit), 5);
  });

  it('a dropped modality acts as a missing one, in training only', async () => {
    const samples = makeSamples(3);
    const run = async (cfg: DualAlignConfig, s: Sample[], train: boolean) => {
      manualSeed(18);
      const m = cpuModel(cfg);
      m.train(train);
      return m.forward(collate(s, m.config, cpu)).probabilities.data();
    };
    const dropAll = smallConfig({ dropout: 0, modalityDropout: { flow: 1, text: 1 } });
    const missing = makeSamples(3, { missing: { flow: [0, 1, 2], text: [0, 1, 2] } });
    const a = await run(dropAll, samples, true);
    const b = await run(smallConfig({ dropout: 0 }), missing, true);
    Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i], 6));
    const c = await run(dropAll, samples, false); // eval: nothing dropped
    const d = await run(smallConfig({ dropout: 0 }), samples, false);
    Array.from(c).forEach((v, i) => expect(v).toBeCloseTo(d[i], 6));
    expect(() => resolveConfig(smallConfig({ modalityDropout: { flow: 1.5 } }))).toThrow(/not a rate/);
    expect(() => resolveConfig(smallConfig({ modalityDropout: { audio: 0.1 } }))).toThrow(/'audio', which is not a modality/);
  });
});

describe('GRAM loss', () => {
  it('two modalities: volume = |sin θ|; the composed loss matches src/alignment', async () => {
    const { gramVolumes, gramLossComposed, gramLoss } = await import('../../src/models/losses.js');
    const { tensor } = await import('../../src/index.js');
    const a = [1, 0, 0, 0.6, 0.8, 0, 0, 1, 1];
    const m = [0, 1, 0, 0.6, 0.8, 0, 1, 0, 1];
    const A = tensor(a, [3, 3], cpu);
    const M = tensor(m, [3, 1, 3], cpu);
    const V = await gramVolumes(A, M).data();
    const unit = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const mi = unit(m.slice(i * 3, i * 3 + 3));
        const aj = unit(a.slice(j * 3, j * 3 + 3));
        const cos = mi.reduce((s, x, k) => s + x * aj[k], 0);
        expect(V[i * 3 + j]).toBeCloseTo(Math.sqrt(Math.max(1 - cos * cos, 1e-12)), 5);
      }
    }
    manualSeed(19);
    const { randn } = await import('../../src/index.js');
    const a2 = randn([5, 6], cpu);
    const o2 = randn([5, 2, 6], cpu);
    const composed = await gramLossComposed(a2, o2, { tau: 0.1 }).item();
    const fused = await gramLoss(a2, o2, { tau: 0.1 }).item();
    expect(composed).toBeCloseTo(fused, 4);
  });
});

describe('skeleton channels', () => {
  it('C\' other than 3: missing channels are zero, extra ones dropped', async () => {
    const cfg = smallConfig({
      dropout: 0,
      streams: [
        { name: 'video', kind: 'linear', inputDim: 12 },
        { name: 'skeleton', kind: 'graph', inputDim: 4, layout: 'coco17', gcnChannels: [6], inputNorm: 'none' },
      ],
      fusion: [{ with: 'skeleton', name: 'spatialEn' }],
    });
    const base = makeSamples(2, { joints: 17 });
    const withChannels = (C: number, fill: (t: number, j: number, c: number) => number) =>
      base.map((s) => ({ ...s, modalities: { ...s.modalities, flow: undefined, skeleton: { data: Float32Array.from({ length: 6 * 17 * C }, (_, i) => fill(Math.floor(i / (17 * C)), Math.floor(i / C) % 17, i % C)), shape: [6, 17, C] } } }));
    const v = (t: number, j: number, c: number) => Math.sin(t + 2 * j + 3 * c);
    const three = withChannels(3, v);
    const six = withChannels(6, v);
    manualSeed(20);
    const model = cpuModel(cfg);
    const b3 = collate(three, model.config, cpu);
    expect(b3.modalities.skeleton.shape).toEqual([2, 6, 17, 4]);
    const x3 = await b3.modalities.skeleton.data();
    expect(x3[3]).toBe(0); // channel 3 of joint 0, frame 0: zero-filled
    expect(x3[1]).toBeCloseTo(v(0, 0, 1), 6);
    const x6 = await collate(six, model.config, cpu).modalities.skeleton.data();
    expect(x6[3]).toBeCloseTo(v(0, 0, 3), 6); // channels 0..3 kept, 4..5 dropped
    expect(x6[4]).toBeCloseTo(v(0, 1, 0), 6);
    await forwardBackward(cfg, six);
  });
});

describe('the recipe options (src/optim/presets.ts RECIPE)', () => {
  const recipe = (over: Partial<DualAlignConfig> = {}) => smallConfig({ ...RECIPE.model, ...over } as Partial<DualAlignConfig>);

  it('resolve, run forward and backward, with missing modalities and in eval mode', async () => {
    const c = resolveConfig(recipe());
    expect([c.centerTime, c.clipSync, c.temporalEncoding, c.stage1Activation, c.pooling, c.ordinalSigma, c.gradeDecision]).toEqual([true, true, 'sinusoidal', 'gelu', 'mean+std', 0.5, 'argmax']);
    const paper = resolveConfig(smallConfig());
    expect([paper.centerTime, paper.clipSync, paper.temporalEncoding, paper.stage1Activation, paper.pooling, paper.ordinalSigma, paper.gradeDecision]).toEqual([false, false, 'none', 'none', 'mean', 0, 'argmax']);
    await forwardBackward(recipe(), makeSamples(5, { missing: { flow: [1], skeleton: [2], text: [3] } }));
    await forwardBackward(recipe(), makeSamples(4), false);
    await forwardBackward(recipe({ stage1Arrangement: 'authors' }), makeSamples(4));
    await forwardBackward(recipe(), makeSamples(3, { clips: 1, fpc: 1, imageFrames: 1 }));
    expect(() => resolveConfig(smallConfig({ pooling: 'max' as never }))).toThrow(/pooling must be/);
    expect(() => resolveConfig(smallConfig({ temporalEncoding: 'learned' as never }))).toThrow(/temporalEncoding must be/);
    expect(() => resolveConfig(smallConfig({ ordinalSigma: -1 }))).toThrow(/ordinalSigma/);
  });

  it('finite differences match autograd (float64) through the recipe options', async () => {
    manualSeed(12);
    const model = cpuModel(recipe({ dropout: 0, d1: 8, d2: 4, d3: 4, heads: 2 }), 'float64');
    const samples = makeSamples(4, { clips: 3, fpc: 2, imageFrames: 3, missing: { flow: [1] } });
    const batch = collate(samples, model.config, { backend: 'cpu', dtype: 'float64' });
    model.loss(batch).total.backward();
    const named = Object.fromEntries(model.namedParameters());
    const lossAt = () => noGrad(() => model.loss(batch).total.storage.handle[0] as number);
    for (const [name, k] of [['encoders.video.proj.weight', 5], ['encoders.flow.proj.weight', 3], ['fusion.temporalEn.q.weight', 2], ['stage1Out.weight', 4], ['poolProj.weight', 6], ['poolProj.bias', 1]] as const) {
      const p = named[name];
      expect(p, name).toBeDefined();
      const arr = p.storage.handle as Float64Array;
      const g = (p.grad!.storage.handle as Float64Array)[p.grad!.offset + k];
      const orig = arr[p.offset + k];
      arr[p.offset + k] = orig + 1e-6;
      const lp = lossAt();
      arr[p.offset + k] = orig - 1e-6;
      const lm = lossAt();
      arr[p.offset + k] = orig;
      const fd = (lp - lm) / 2e-6;
      expect(Math.abs(fd - g), `${name}[${k}]: fd ${fd} vs autograd ${g}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(fd));
    }
  });

  it('ordinal neighbour smoothing: Gaussian targets over grades, and the loss is their cross-entropy', async () => {
    const t = ordinalTargets(5, 0.5, 0.1);
    for (let y = 0; y < 5; y++) {
      const row = Array.from(t.subarray(y * 5, y * 5 + 5));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(row.indexOf(Math.max(...row))).toBe(y);
      if (y > 0 && y < 4) expect(row[y - 1]).toBeCloseTo(row[y + 1]!, 6);
    }
    expect(() => ordinalTargets(3, 0)).toThrow(/sigma/);
    manualSeed(5);
    const model = cpuModel(smallConfig({ dropout: 0, ordinalSigma: 0.7, alignment: 'none' }));
    model.eval();
    const samples = makeSamples(4);
    const batch = collate(samples, model.config, cpu);
    const loss = await model.loss(batch).grade.item();
    const logits = Array.from(await model.forward(batch).logits.data());
    const soft = ordinalTargets(4, 0.7);
    let expected = 0;
    samples.forEach((s, i) => {
      const row = logits.slice(i * 4, i * 4 + 4);
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      for (let j = 0; j < 4; j++) expected -= (soft[s.grade! * 4 + j]! * (row[j]! - lse)) / samples.length;
    });
    expect(loss).toBeCloseTo(expected, 4);
  });

  it('timing across modalities: the paper model cannot see the order of the flow clips, the recipe model can', async () => {
    // Cross-attention without time information matches clips by content only: permuting one
    // modality's clips leaves its output unchanged. Clip-synchronous fusion and time features make it count.
    const samples = makeSamples(3, { clips: 4 });
    const permuted = samples.map((s) => {
      const f = s.modalities.flow!;
      const C = f.shape[1]!;
      const data = new Float32Array(f.data.length);
      [2, 0, 3, 1].forEach((from, to) => data.set(f.data.subarray(from * C, (from + 1) * C), to * C));
      return { ...s, modalities: { ...s.modalities, flow: { data, shape: f.shape } } };
    });
    const hOf = async (cfg: DualAlignConfig, xs: Sample[]) => {
      manualSeed(9);
      const model = cpuModel(cfg);
      model.eval();
      return Array.from(await model.forward(collate(xs, model.config, cpu)).h.data());
    };
    const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    const paper = smallConfig({ dropout: 0 });
    expect(maxDiff(await hOf(paper, samples), await hOf(paper, permuted))).toBeLessThan(1e-5);
    const ours = recipe({ dropout: 0 });
    expect(maxDiff(await hOf(ours, samples), await hOf(ours, permuted))).toBeGreaterThan(1e-3);
  });
});
