// End-to-end training of DualAlign on the synthetic MM-JDM, on the real device. All DualAlign
// runs share this file so the WGSL pipelines compile once per worker. Tiny model and inputs.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSyntheticMMJDM } from '../../src/data/synthetic.js';
import { applyOverrides, dualAlignKit } from '../../src/train/dualalignKit.js';
import { RECIPE } from '../../src/optim/presets.js';
import { actionSplit, trainAction, InterruptedError, type TrainActionOptions } from '../../src/train/trainer.js';
import { constantBaseline, ridgeBaseline } from '../../src/train/baselines.js';
import { dropModalities, runModalityRobustness } from '../../src/train/experiment.js';

const TINY = { d1: 32, d2: 16, d3: 16, heads: 2, gcnChannels: [8], logitScale: 10, dropout: 0.2 };
const data = generateSyntheticMMJDM({ seed: 7, actions: ['01', '03'], scale: 0.6, framesPerClip: 1, imageFrames: 8 });
// Reproducibility and resume checks need no accuracy: a smaller set keeps them quick.
const small = generateSyntheticMMJDM({ seed: 7, actions: ['01'], samplesPerAction: 24, framesPerClip: 1, imageFrames: 8 });
const base = (action: string, extra: Partial<TrainActionOptions> = {}): TrainActionOptions => ({
  kit: dualAlignKit,
  dataset: extra.dataset ?? data,
  action,
  epochs: 8,
  batchSize: 8,
  seed: 3,
  preset: 'reference-code',
  lr: 2e-3,
  modelOverrides: TINY,
  // These checks compare against the per-epoch test metrics: the paper's protocol, asked for explicitly
  // (the default selects on a validation split and has no per-epoch test metrics; test/train/protocol.test.ts).
  select: 'test',
  ...extra,
});

describe('training DualAlign on synthetic MM-JDM', () => {
  const traces: number[][] = [];
  const trained = new Map<string, { model: Awaited<ReturnType<typeof trainAction>>['model']; config: unknown }>();

  it("every model setting of the recipe, and gradeDecision, reaches the kit's model config (none dropped by the overrides' allow-list)", () => {
    const settings = { ...RECIPE.model, gradeDecision: 'expected' };
    const cfg = applyOverrides({ numGrades: 4 }, settings);
    for (const [k, v] of Object.entries(settings)) expect([k, (cfg as Record<string, unknown>)[k]]).toEqual([k, v]);
  });

  it('learns what a linear model cannot: test SRCC above the constant and the ridge baseline', { timeout: 400_000 }, async () => {
    // SRCC of the predicted grades (Eq. 1, the paper's SRCC) and of the continuous score (expected
    // grade), at the best epoch (the paper's protocol). The synthetic grade lives in per-frame
    // swings that time-mean pooling cancels (synthetic.ts): ridge on mean-pooled features stays
    // near 0. Measured (mean over the two actions) on data seeds 7 and 11: DualAlign 0.58 / 0.57
    // (score 0.47 / 0.33), ridge 0.03 / -0.09; the margins below leave room for that spread and for
    // another adapter's rounding. A tiny 8-epoch run is noisy: data seed 3 gave only 0.19 vs ridge 0.02.
    const grades: number[] = [];
    const scores: number[] = [];
    const ridge: number[] = [];
    const ridgeStd: number[] = [];
    const constant: number[] = [];
    for (const action of data.actions) {
      const r = await trainAction(base(action.id));
      traces.push(r.bufferTrace);
      trained.set(action.id, { model: r.model, config: r.config });
      // The best epoch's weights (the run keeps the best checkpoint), evaluated again.
      expect(r.best.metrics.srcc).toBeCloseTo(r.history[r.bestEpoch - 1]!.test.srcc, 10);
      grades.push(r.best.metrics.srcc);
      scores.push(r.best.srccScore);
      const { train, test } = actionSplit(data.samples, action);
      ridge.push(ridgeBaseline(action, train, test, { modalities: data.modalities }).metrics.srcc);
      ridgeStd.push(ridgeBaseline(action, train, test, { modalities: data.modalities, pooling: 'mean+std' }).metrics.srcc);
      constant.push(constantBaseline(action, train, test).metrics.srcc);
      expect(r.history.at(-1)!.loss).toBeLessThan(r.history[0]!.loss);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const f = (xs: number[]) => xs.map((v) => v.toFixed(3)).join(', ');
    console.log(`test SRCC: DualAlign grades ${f(grades)} expected grade ${f(scores)}; ridge (mean pooling) ${f(ridge)}; ridge (mean+std pooling, reported only) ${f(ridgeStd)}; constant ${f(constant)}`);
    expect(mean(constant)).toBe(0);
    expect(mean(ridge)).toBeLessThan(0.25);
    expect(mean(grades)).toBeGreaterThan(0.35);
    expect(mean(grades)).toBeGreaterThan(mean(ridge) + 0.25);
    expect(mean(scores)).toBeGreaterThan(mean(ridge) + 0.15);
  });

  it('keeps the GPU buffer count flat across training steps', () => {
    for (const trace of traces) {
      if (trace.length === 0) continue; // CPU backend
      // After two epochs every buffer size has been seen; from then on the pool must not grow.
      const steady = trace.slice(Math.floor(trace.length / 3));
      expect(Math.max(...steady) - Math.min(...steady)).toBe(0);
    }
  });

  it('evaluates with modalities removed at inference (video kept)', async () => {
    const dropped = dropModalities(data.samples.slice(0, 10), ['flow', 'skeleton', 'image', 'text'], 0.5, 1);
    for (const m of ['flow', 'skeleton', 'image', 'text']) expect(dropped.filter((s) => s.modalities[m] === undefined).length).toBe(5);
    expect(dropped.every((s) => s.modalities.video !== undefined)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'robust-'));
    const { summary, files } = await runModalityRobustness({ name: 't', runDir: dir, kit: dualAlignKit, dataset: data, models: trained, rates: [0, 0.9], repeats: 1, seed: 1 });
    expect(summary.points.map((p) => p.rate)).toEqual([0, 0.9]);
    expect(files.some((f) => f.endsWith('robustness-modality.png'))).toBe(true);
    for (const { model } of trained.values()) model.dispose();
  });

  it('gives the same metrics for the same seed', async () => {
    const a = await trainAction(base('01', { epochs: 2, dataset: small }));
    a.model.dispose();
    const b = await trainAction(base('01', { epochs: 2, dataset: small }));
    b.model.dispose();
    expect(b.history.map((h) => [h.loss, h.test])).toEqual(a.history.map((h) => [h.loss, h.test]));
    expect(b.best.predictions).toEqual(a.best.predictions);
  });

  it('trains with hidden labels: unlabeled samples stay in the batches for the alignment losses', async () => {
    expect(dualAlignKit.supportsUnlabeled).toBe(true);
    const steps: number[] = [];
    const r = await trainAction(base('01', { dataset: small, epochs: 1, missingLabelRate: 0.5, onEvent: (e) => void (e.type === 'step' && steps.push(e.step)) }));
    r.model.dispose();
    const train = small.samples.filter((s) => s.split === 'train').length;
    // Every training sample is batched (not only the labeled half), and the losses stay finite.
    expect(Math.max(...steps)).toBe(Math.ceil(train / 8));
    expect(Number.isFinite(r.history[0]!.loss)).toBe(true);
  });

  it('an interrupted or failing run leaves the previous checkpoint intact, and resuming continues it exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    // A 4-epoch run interrupted (as by Ctrl-C) after epoch 2.
    const controller = new AbortController();
    await expect(
      trainAction(
        base('01', {
          dataset: small,
          epochs: 4,
          checkpointDir: dir,
          signal: controller.signal,
          onEvent: (e) => {
            if (e.type === 'epoch' && e.record.epoch === 2) controller.abort();
          },
        }),
      ),
    ).rejects.toBeInstanceOf(InterruptedError);
    const last = join(dir, 'last.ckpt');
    const before = readFileSync(last);
    const stateBefore = readFileSync(join(dir, 'last.state.safetensors'));

    // Resumed, then failing in the middle of epoch 3: the epoch-2 checkpoint is untouched.
    await expect(
      trainAction(
        base('01', {
          dataset: small,
          epochs: 4,
          checkpointDir: dir,
          resume: true,
          onEvent: (e) => {
            if (e.type === 'step' && e.epoch === 3 && e.step === 2) throw new Error('simulated crash');
          },
        }),
      ),
    ).rejects.toThrow('simulated crash');
    expect(readFileSync(last).equals(before)).toBe(true);
    expect(readFileSync(join(dir, 'last.state.safetensors')).equals(stateBefore)).toBe(true);
    const loaded = await dualAlignKit.load(last);
    expect(loaded.extra.epoch).toBe(2);
    loaded.model.dispose();

    // A resume with another schedule is refused with what to pass.
    await expect(trainAction(base('01', { dataset: small, epochs: 6, checkpointDir: dir, resume: true }))).rejects.toThrow('--epochs 4');

    // Resuming from epoch 2 reproduces an uninterrupted 4-epoch run.
    const resumed = await trainAction(base('01', { dataset: small, epochs: 4, checkpointDir: dir, resume: true }));
    resumed.model.dispose();
    expect(resumed.resumedFromEpoch).toBe(2);
    const straight = await trainAction(base('01', { dataset: small, epochs: 4 }));
    straight.model.dispose();
    expect(resumed.history.map((h) => h.test)).toEqual(straight.history.map((h) => h.test));
    expect(resumed.history.map((h) => h.loss)).toEqual(straight.history.map((h) => h.loss));
    expect(existsSync(join(dir, 'best.ckpt'))).toBe(true);
  });
});
