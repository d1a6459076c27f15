// DualAlign on the WebGPU backend: shapes, one training step, GPU/CPU parity, checkpoints.
// One file so the shader pipelines compile once (lavapipe compiles slowly).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuRuntime, manualSeed, scope, type Tensor } from '../../src/index.js';
import { DualAlign, collate, disposeBatch, resolveConfig, type DualAlignConfig } from '../../src/models/index.js';
import { RECIPE } from '../../src/optim/presets.js';
import { saveCheckpoint, loadCheckpoint, loadCheckpointInto } from '../../src/models/checkpoint.node.js';
import { SGD } from '../../src/optim/index.js';
import { withParamOptions } from '../../src/nn/init.js';
import { StateDictError } from '../../src/nn/module.js';
import { makeSamples, smallConfig } from './helpers.js';

async function allFinite(t: Tensor): Promise<boolean> {
  return Array.from(await t.data()).every(Number.isFinite);
}

describe('DualAlign on the GPU', () => {
  it('paper defaults are the resolved defaults', () => {
    const c = resolveConfig({ numGrades: 5 });
    expect([c.d1, c.d2, c.d3, c.heads, c.dropout, c.tau, c.lambda1, c.lambda2, c.logitScale]).toEqual([1024, 512, 512, 8, 0.5, 0.1, 1, 1, 1]);
    expect(c.anchor).toBe('video');
    expect(c.streams.map((s) => s.name)).toEqual(['video', 'flow', 'skeleton']);
    expect(c.fusion.map((f) => [f.name, f.with])).toEqual([['spatialEn', 'skeleton'], ['temporalEn', 'flow']]);
    expect(c.image?.name).toBe('image');
    expect(c.text?.name).toBe('text');
  });

  it('shapes for B = 1, B = 32 and other clip counts', async () => {
    manualSeed(1);
    const model = new DualAlign(smallConfig());
    for (const [B, clips, fpc, imageFrames] of [[1, 3, 2, 5], [32, 3, 2, 5], [4, 5, 3, 7], [2, 1, 1, 1]]) {
      const batch = collate(makeSamples(B, { clips, fpc, imageFrames }), model.config);
      const out = model.forward(batch);
      expect(out.h.shape).toEqual([B, 8]);
      expect(out.logits.shape).toEqual([B, 4]);
      expect(out.probabilities.shape).toEqual([B, 4]);
      expect(out.embeddings.video.shape).toEqual([B, 16]);
      expect(out.embeddings.skeleton.shape).toEqual([B, 16]);
      expect(out.embeddings.ste.shape).toEqual([B, 8]);
      expect(out.embeddings.imt.shape).toEqual([B, 8]);
      expect(await allFinite(out.probabilities)).toBe(true);
      const l = model.loss(batch);
      expect(l.total.shape).toEqual([]);
      for (const k of ['total', 'grade', 'vfs', 'vit'] as const) expect(await allFinite(l[k])).toBe(true);
      const pred = await model.predict(batch);
      expect(pred.grades!.length).toBe(B);
      expect(pred.probabilities[0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      for (const t of [out.h, out.logits, out.probabilities, l.total]) t.dispose();
      disposeBatch(batch);
    }
  });

  it('one training step changes every trainable parameter and no frozen one', async () => {
    manualSeed(2);
    const model = new DualAlign(smallConfig());
    model.encoders.get('flow')!.freeze();
    // text missing in one sample so the placeholder takes part; flow missing in another; one sample unlabeled
    const samples = makeSamples(6, { missing: { text: [1], flow: [2] } }).map((s, i) => (i === 4 ? { ...s, grade: undefined } : s));
    const batch = collate(samples, model.config);
    const before = new Map<string, Float32Array>();
    for (const [n, p] of model.namedParameters()) before.set(n, (await p.data()) as Float32Array);
    const buffersBefore = await Promise.all(model.buffers().map((b) => b.data()));
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const l = model.loss(batch);
    for (const k of ['total', 'grade', 'vfs', 'vit'] as const) expect(await allFinite(l[k])).toBe(true);
    expect(l.labeled).toBe(5);
    l.total.backward();
    opt.step({ loss: l.total });
    expect((await opt.status()).applied).toBe(true);
    const unchanged: string[] = [];
    const frozenChanged: string[] = [];
    for (const [n, p] of model.namedParameters()) {
      const a = before.get(n)!;
      const b = await p.data();
      const same = a.every((v, i) => v === b[i]);
      if (n.startsWith('encoders.flow.')) {
        expect(p.requiresGrad).toBe(false);
        if (!same) frozenChanged.push(n);
      } else if (same) unchanged.push(n);
    }
    expect(unchanged).toEqual([]);
    expect(frozenChanged).toEqual([]);
    const buffersAfter = await Promise.all(model.buffers().map((b) => b.data()));
    buffersAfter.forEach((b, i) => expect(Array.from(b)).toEqual(Array.from(buffersBefore[i])));
    opt.zeroGrad();
    opt.dispose();
    disposeBatch(batch);
  });

  it('a training loop keeps the live GPU buffer count flat (partly labeled batches, modality dropout)', async () => {
    const rt = gpuRuntime();
    expect(rt).toBeTruthy();
    manualSeed(3);
    const model = new DualAlign(smallConfig({ modalityDropout: { flow: 0.5, text: 0.5 } }));
    const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const samples = makeSamples(4, { missing: { skeleton: [0] } }).map((s, i) => (i === 1 ? { ...s, grade: undefined } : s));
    const counts: number[] = [];
    for (let step = 0; step < 4; step++) {
      await scope(async () => {
        const batch = collate(samples, model.config);
        const l = model.loss(batch);
        l.total.backward();
        opt.step({ loss: l.total });
        opt.zeroGrad();
        expect(Number.isFinite(await l.total.item())).toBe(true);
        disposeBatch(batch);
      });
      counts.push(rt!.poolStats().liveBuffers);
    }
    expect(counts[3]).toBe(counts[1]);
    opt.dispose();
    model.dispose();
  });

  it('the GPU model matches the CPU reference built from the same seed (paper settings and the recipe)', async () => {
    for (const cfg of [smallConfig({ dropout: 0 }), smallConfig({ ...RECIPE.model, dropout: 0 })]) await gpuMatchesCpu(cfg);
  });

  async function gpuMatchesCpu(cfg: DualAlignConfig): Promise<void> {
    const samples = makeSamples(4, { missing: { skeleton: [3], text: [0] } });
    manualSeed(21);
    const g = new DualAlign(cfg);
    manualSeed(21);
    const c = withParamOptions({ backend: 'cpu' }, () => new DualAlign(cfg));
    const lg = g.loss(collate(samples, g.config));
    const lc = c.loss(collate(samples, c.config, { backend: 'cpu' }));
    for (const k of ['total', 'grade', 'vfs', 'vit'] as const) expect(await lg[k].item()).toBeCloseTo(await lc[k].item(), 3);
    lg.total.backward();
    lc.total.backward();
    const gp = Object.fromEntries(g.namedParameters());
    for (const [n, p] of c.namedParameters()) {
      const a = await gp[n].grad!.data();
      const b = await p.grad!.data();
      let err = 0;
      let scale = 1e-6;
      for (let i = 0; i < a.length; i++) {
        err = Math.max(err, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
      expect(err / scale, `${n} gradient`).toBeLessThan(2e-3);
    }
  }

  it('authors arrangement and ablations run on the GPU', async () => {
    manualSeed(4);
    const samples = makeSamples(3, { missing: { flow: [0], text: [2] } });
    for (const over of [{ stage1Arrangement: 'authors' as const }, { fusionMode: 'cross-attention' as const, alignment: 'one-stage-gram' as const }, { order: 'text-first' as const }]) {
      const model = new DualAlign(smallConfig(over));
      const batch = collate(samples, model.config);
      const l = model.loss(batch);
      expect(await allFinite(l.total)).toBe(true);
      l.total.backward();
      for (const p of model.parameters()) if (p.grad) expect(await allFinite(p.grad)).toBe(true);
    }
  });

  it("gradeDecision: argmax by default (Eq. 1), the rounded expected grade with 'expected'", async () => {
    expect(resolveConfig({ numGrades: 5 }).gradeDecision).toBe('argmax');
    expect(() => resolveConfig({ numGrades: 5, gradeDecision: 'mode' as never })).toThrow(/gradeDecision must be 'argmax' or 'expected', got 'mode'/);
    const predictWith = async (gradeDecision: 'argmax' | 'expected') => {
      manualSeed(9); // same weights for both decisions
      const model = new DualAlign(smallConfig({ gradeDecision }));
      const batch = collate(makeSamples(32, { seed: 3 }), model.config);
      try {
        return await model.predict(batch);
      } finally {
        disposeBatch(batch);
      }
    };
    const byArgmax = await predictWith('argmax');
    const byExpected = await predictWith('expected');
    expect(Array.from(byExpected.scores)).toEqual(Array.from(byArgmax.scores));
    const argmaxOf = (p: Float32Array) => p.indexOf(Math.max(...p));
    expect(Array.from(byArgmax.grades!)).toEqual(byArgmax.probabilities.map(argmaxOf));
    expect(Array.from(byExpected.grades!)).toEqual(Array.from(byExpected.scores, (s) => Math.round(s)));
    // the two decisions differ on this untrained model (near-uniform probabilities: mean ≈ 1.5, mode anywhere)
    expect(Array.from(byExpected.grades!)).not.toEqual(Array.from(byArgmax.grades!));
  });

  it('save + reload gives identical predictions; another config lists the differing tensors', async () => {
    manualSeed(5);
    const dir = mkdtempSync(join(tmpdir(), 'dualalign-ck-'));
    try {
      const model = new DualAlign(smallConfig());
      const batch = collate(makeSamples(5, { missing: { text: [4] } }), model.config);
      const path = join(dir, 'runs', 'a', 'model.safetensors'); // folders created on save
      await saveCheckpoint(path, model, { epoch: 2 });
      await saveCheckpoint(path, model, { epoch: 3 }); // replaces the file
      expect(readdirSync(join(dir, 'runs', 'a'))).toEqual(['model.safetensors']); // no temp file left
      const { model: re, extra } = await loadCheckpoint(path);
      expect(extra).toEqual({ epoch: 3 });
      const a = await model.predict(batch);
      const b = await re.predict(batch);
      expect(Array.from(b.grades!)).toEqual(Array.from(a.grades!));
      expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
      a.probabilities.forEach((p, i) => expect(Array.from(b.probabilities[i])).toEqual(Array.from(p)));
      // a model of another configuration
      const other = new DualAlign(smallConfig({ d1: 32, removeModalities: ['flow'] }));
      let err: unknown;
      try {
        await loadCheckpointInto(path, other);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StateDictError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/shape differs: encoders\.video\.proj\.weight: model \[32, 12\], file \[16, 12\]/);
      expect(msg).toMatch(/not in model: encoders\.flow\.proj\.weight/);
      const loose = await loadCheckpointInto(path, other, { strict: false });
      expect(loose.loaded).toContain('temporalModulate.embed.weight');
      expect(existsSync(path)).toBe(true);
      disposeBatch(batch);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('summary: parameters and FLOPs per module', () => {
    const paper = new DualAlign({ numGrades: 5 });
    const s = paper.summary();
    expect(s.totalParams).toBe(paper.paramCount());
    expect(s.rows.find((r) => r.module === 'fusion.spatialEn')!.flops).toBeGreaterThan(0);
    expect(s.text).toMatch(/fusion\.temporalEn/);
    expect(s.flopsPerSample).toBeGreaterThan(1e8);
    paper.dispose();
  });
});
