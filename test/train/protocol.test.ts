// The evaluation protocol (issue 14): the validation split is carved from the training samples only
// (stratified, seeded), the test split is evaluated once unless the paper's protocol is asked for
// (and then every output says so), and the temporal baseline sees what pooled features cannot.
// Small models (pooled MLP, temporal CNN) on the real device.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dataset, Sample } from '../../src/data/types.js';
import { generateSyntheticMMJDM } from '../../src/data/synthetic.js';
import { pooledMlpKit } from '../../src/train/pooledMlp.js';
import { temporalConvKit } from '../../src/train/temporalConv.js';
import { actionSplit, carveValidation, trainAction } from '../../src/train/trainer.js';
import { runExperiment } from '../../src/train/experiment.js';
import { ridgeBaseline } from '../../src/train/baselines.js';
import { mulberry32 } from '../prng.js';

const data = generateSyntheticMMJDM({ seed: 5, actions: ['01', '02'], scale: 0.5, framesPerClip: 1, imageFrames: 8 });

describe('validation split', () => {
  it('never contains a test sample, keeps each grade\'s share, and is seeded', () => {
    for (const action of data.actions) {
      const { train, test } = actionSplit(data.samples, action);
      const testIds = new Set(test.map((s) => s.id));
      for (const seed of [0, 1, 2]) {
        const { fit, validation } = carveValidation(train, 0.2, seed);
        // A partition of the training samples: nothing from the test split, nothing lost or doubled.
        expect(validation.some((s) => testIds.has(s.id))).toBe(false);
        expect(fit.some((s) => testIds.has(s.id))).toBe(false);
        expect([...fit, ...validation].map((s) => s.id).sort()).toEqual(train.map((s) => s.id).sort());
        expect(validation.length).toBe(Math.round(0.2 * train.length));
        // Stratified: each grade's count within one of its proportional share; every grade keeps a sample to fit.
        const count = (xs: Sample[], g: number) => xs.filter((s) => s.grade === g).length;
        for (const g of new Set(train.map((s) => s.grade!))) {
          const share = (count(train, g) * validation.length) / train.length;
          expect(Math.abs(count(validation, g) - share)).toBeLessThan(1 + 1e-9);
          expect(count(fit, g)).toBeGreaterThan(0);
        }
      }
      // Seeded: the same seed gives the same split, another seed another one.
      const ids = (seed: number) => carveValidation(train, 0.2, seed).validation.map((s) => s.id);
      expect(ids(3)).toEqual(ids(3));
      expect(ids(3)).not.toEqual(ids(4));
    }
  });

  it('keeps unlabeled samples for fitting and rejects a fraction outside (0, 1)', () => {
    const { train } = actionSplit(data.samples, data.actions[0]!);
    const some = train.map((s, i) => (i % 3 === 0 ? { ...s, grade: undefined } : s));
    const { validation } = carveValidation(some, 0.3, 1);
    expect(validation.every((s) => s.grade !== undefined)).toBe(true);
    expect(() => carveValidation(train, 0, 1)).toThrow('validation fraction');
    expect(() => carveValidation(train, 1, 1)).toThrow('validation fraction');
  });
});

describe('model selection', () => {
  const fit = { kit: pooledMlpKit, dataset: data, action: '01', epochs: 3, batchSize: 8, seed: 2, preset: 'reference-code' as const, lr: 2e-3 };

  it('by default selects on validation and evaluates the test split once', async () => {
    const r = await trainAction(fit);
    r.model.dispose();
    const { train, test } = actionSplit(data.samples, data.actions[0]!);
    expect(r.select).toBe('validation');
    expect(r.validationSize).toBe(Math.round(0.2 * train.length));
    expect(r.trainSize + r.validationSize).toBe(train.length);
    const testIds = new Set(test.map((s) => s.id));
    expect(r.validationIds.some((id) => testIds.has(id))).toBe(false);
    // No per-epoch test metrics exist at all: nothing to peek at.
    for (const h of r.history) {
      expect(h.test).toBeUndefined();
      expect(h.validation).toBeDefined();
    }
    expect(r.best.metrics.n).toBe(test.length);
    // A fixed budget keeps the last epoch, with no per-epoch evaluation.
    const last = await trainAction({ ...fit, select: 'last' });
    last.model.dispose();
    expect(last.bestEpoch).toBe(3);
    expect(last.validationSize).toBe(0);
    expect(last.history.every((h) => h.test === undefined && h.validation === undefined)).toBe(true);
  });

  it("the paper's best-test-epoch protocol only on request, and labelled in table.md and metrics.json", async () => {
    const honest = mkdtempSync(join(tmpdir(), 'protocol-val-'));
    const paper = mkdtempSync(join(tmpdir(), 'protocol-test-'));
    const common = { name: 't', kit: pooledMlpKit, dataset: data, actions: ['01'], epochs: 2, batchSize: 8, seed: 1, preset: 'reference-code' as const, lr: 2e-3, plots: false, baselines: ['constant', 'ridge'] as const };
    await runExperiment({ ...common, runDir: honest });
    await runExperiment({ ...common, runDir: paper, select: 'test' });
    const table = (dir: string) => readFileSync(join(dir, 'table.md'), 'utf8');
    const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { select: string; protocol: string };
    expect(metrics(honest).select).toBe('validation');
    expect(table(honest)).toContain('validation split');
    expect(table(honest)).not.toContain('TEST split');
    expect(metrics(paper).select).toBe('test');
    expect(metrics(paper).protocol).toContain('TEST split');
    expect(table(paper)).toContain("Selected on the test split (the paper's protocol");
    // Baselines ride on the same split, with the names the tables use.
    expect(table(honest)).toContain('| Ridge (mean+std) |');
    expect(table(honest)).toContain('| Constant |');
  });
});

/**
 * Two grades carried only by the ORDER of the frames: grade 1 rises over time, grade 0 falls through
 * the same values. Every time-pooled statistic (mean, std, any moment) is the same for both.
 */
function orderData(n: number, seed: number): Dataset {
  const rand = mulberry32(seed);
  const T = 12;
  const C = 3;
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const grade = i % 2;
    const amp = 0.5 + rand();
    const offset = rand() - 0.5;
    const ramp = Array.from({ length: T }, (_, t) => offset + amp * (t / (T - 1) - 0.5) + 0.05 * (rand() - 0.5));
    if (grade === 0) ramp.reverse();
    const data = new Float32Array(T * C);
    for (let t = 0; t < T; t++) {
      data[t * C] = ramp[t]!;
      for (let c = 1; c < C; c++) data[t * C + c] = rand() - 0.5;
    }
    samples.push({ id: `s${seed}-${i}`, action: 'A', grade, split: i < (2 * n) / 3 ? 'train' : 'test', modalities: { video: { data, shape: [T, C] } } });
  }
  return { samples, actions: [{ id: 'A', name: 'order', numGrades: 2, minGrade: 0, maxGrade: 1 }], modalities: ['video'], summary: { loaded: n, perAction: { A: n }, missingModalities: {}, warnings: [] } };
}

describe('temporal baseline', () => {
  it('learns a grade carried by frame order, which pooled features cannot see', { timeout: 300_000 }, async () => {
    const ds = orderData(72, 9);
    const opts = { dataset: ds, action: 'A', epochs: 25, batchSize: 8, seed: 1, preset: 'reference-code' as const, lr: 3e-3, select: 'last' as const };
    const tcn = await trainAction({ ...opts, kit: temporalConvKit });
    tcn.model.dispose();
    const mlp = await trainAction({ ...opts, kit: pooledMlpKit });
    mlp.model.dispose();
    const { train, test } = actionSplit(ds.samples, ds.actions[0]!);
    const ridge = ridgeBaseline(ds.actions[0]!, train, test, { modalities: ['video'], pooling: 'mean+std' });
    console.log(`order task, test accuracy: temporal CNN ${tcn.best.metrics.accuracy.toFixed(1)} %, pooled MLP ${mlp.best.metrics.accuracy.toFixed(1)} %, ridge (mean+std) ${ridge.metrics.accuracy.toFixed(1)} %`);
    expect(tcn.best.metrics.accuracy).toBeGreaterThanOrEqual(90);
    expect(mlp.best.metrics.accuracy).toBeLessThan(75);
    expect(ridge.metrics.accuracy).toBeLessThan(75);
    expect(tcn.modelDescription).toContain('temporal conv net on video');
  });

  it('names the sample whose anchor has another length, and saves / reloads identical predictions', async () => {
    const ds = orderData(12, 3);
    const r = await trainAction({ kit: temporalConvKit, dataset: ds, action: 'A', epochs: 1, batchSize: 4, seed: 1, select: 'last' });
    const bad = { ...ds.samples[0]!, id: 'short', modalities: { video: { data: new Float32Array(5 * 3), shape: [5, 3] } } };
    expect(() => temporalConvKit.collate([bad], r.config as never)).toThrow("sample 'short'");
    const path = join(mkdtempSync(join(tmpdir(), 'tcn-')), 'm.ckpt');
    await temporalConvKit.save(path, r.model, r.config as never, { note: 1 });
    const loaded = await temporalConvKit.load(path);
    const batch = temporalConvKit.collate(ds.samples.slice(0, 4), loaded.config);
    const batch2 = temporalConvKit.collate(ds.samples.slice(0, 4), r.config as never);
    r.model.eval();
    loaded.model.eval();
    const a = await r.model.predict(batch2);
    const b = await loaded.model.predict(batch);
    expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
    expect(loaded.extra.note).toBe(1);
    temporalConvKit.disposeBatch(batch);
    temporalConvKit.disposeBatch(batch2);
    r.model.dispose();
    loaded.model.dispose();
  });
});
