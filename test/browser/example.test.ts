/**
 * End to end: the example page (examples/web, served by scripts/serve.mjs) in headless Chromium on
 * SwiftShader's WebGPU. Trains DualAlign for a few steps on a small synthetic action, checks the
 * live chart and the per-grade probabilities of a held-out sample, saves the page's checkpoint and
 * grades uploaded feature files with it, and checks the message shown when WebGPU is missing.
 * Screenshots go to test-artifacts/browser/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSyntheticMMJDM } from '../../src/data/synthetic.js';
import { writeNpy } from '../../src/data/npy.js';
import { decodeSafetensors } from '../../src/data/safetensors.js';
import { SYNTH } from '../../examples/web/model.js';
import { hasChromium, openSession, skipReason, type Session } from './harness.js';

const ROOT = join(import.meta.dirname, '../..');
const ART = join(ROOT, 'test-artifacts/browser');
const RUN = { action: '06', samples: 16, epochs: 2, batch: 4, seed: 7 };

describe.skipIf(!hasChromium)('browser: the example page', () => {
  let s: Session;

  beforeAll(async () => {
    mkdirSync(ART, { recursive: true });
    s = await openSession('examples/web/', { width: 1200, height: 1000 });
  });

  afterAll(async () => {
    await s?.close();
  });

  it('finds the WebGPU device and labels every control', async () => {
    const { page } = s;
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 120_000 });
    expect(await page.getAttribute('body', 'data-state'), await page.textContent('#device') ?? '').toBe('ready');
    expect(await page.textContent('#device')).toMatch(/WebGPU .*ready/);
    const unlabeled = await page.evaluate(() =>
      Array.from(document.querySelectorAll('input, select, button'))
        .filter((el) => {
          const c = el as HTMLInputElement;
          if (c.type === 'hidden') return false;
          return c.tagName === 'BUTTON' ? !(c.textContent ?? '').trim() : (c.labels?.length ?? 0) === 0;
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(unlabeled).toEqual([]);
    expect(await page.getAttribute('#train-status', 'aria-live')).toBe('polite');
    // Keyboard: Tab from the action select reaches the next field.
    await page.focus('#action');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('samples');
  });

  it('trains DualAlign on the page, draws the chart and grades a held-out sample', async () => {
    const { page } = s;
    await page.selectOption('#action', RUN.action);
    await page.fill('#samples', String(RUN.samples));
    await page.fill('#epochs', String(RUN.epochs));
    await page.fill('#batch', String(RUN.batch));
    await page.fill('#seed', String(RUN.seed));
    // Start with the keyboard: focus the button, press Enter.
    await page.focus('#train');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-state="training"]', { timeout: 30_000 });
    await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.steps ?? 0) > 0, null, { timeout: 240_000 });
    await page.screenshot({ path: join(ART, 'example-training.png'), fullPage: true });
    await page.waitForSelector('body[data-state="trained"]', { timeout: 600_000 });
    const status = (await page.textContent('#train-status')) ?? '';
    expect(status, status).toMatch(/^Trained: \d+ steps/);

    const chart = await page.evaluate(() => {
      const host = document.getElementById('chart')!;
      const loss = host.querySelector('polyline.loss')?.getAttribute('points')?.trim().split(/\s+/).length ?? 0;
      return { steps: Number(host.dataset.steps), srcc: Number(host.dataset.srccPoints), loss, dots: host.querySelectorAll('circle.srcc-dot').length, desc: host.querySelector('desc')?.textContent };
    });
    expect(chart.steps).toBe(RUN.epochs * 2); // 11 training samples in batches of 4 (the last takes the remainder): 2 per epoch
    expect(chart.loss).toBe(chart.steps);
    expect(chart.srcc).toBe(RUN.epochs);
    expect(chart.desc).toMatch(/Latest loss \d/);

    await page.waitForSelector('#result ol.bars li');
    const result = await page.evaluate(() => ({
      bars: Array.from(document.querySelectorAll('#result ol.bars li .pct'), (e) => parseFloat(e.textContent ?? '')),
      verdict: document.querySelector('#result .verdict')?.textContent ?? '',
      mods: Array.from(document.querySelectorAll('#result .mods li'), (e) => `${e.className}:${e.textContent}`),
    }));
    expect(result.bars).toHaveLength(4); // action 06: grades 0..3
    expect(result.bars.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
    expect(result.verdict).toMatch(/Predicted grade \d .*true grade \d/);
    expect(result.mods).toEqual(['used:✓ video', 'used:✓ flow', 'used:✓ skeleton', 'used:✓ image', 'used:✓ text']);
    await page.screenshot({ path: join(ART, 'example-trained.png'), fullPage: true });
    expect(s.errors, s.errors.join('\n')).toEqual([]);
  }, 900_000);

  it('saves a checkpoint and grades uploaded features with it', async () => {
    const { page } = s;
    const download = page.waitForEvent('download');
    await page.click('#save');
    const ckptPath = join(ART, 'dualalign-06.safetensors');
    await (await download).saveAs(ckptPath);
    const ck = decodeSafetensors(new Uint8Array(readFileSync(ckptPath)));
    expect(ck.metadata.format).toBe('dualalign-checkpoint/1');
    expect(JSON.parse(ck.metadata.config!).numGrades).toBe(4);

    // The page's first held-out sample, regenerated here (the generator is deterministic).
    const ds = generateSyntheticMMJDM({ seed: RUN.seed, actions: [RUN.action], samplesPerAction: RUN.samples, ...SYNTH, dims: { ...SYNTH.dims } });
    const sample = ds.samples.find((x) => x.split === 'test')!;
    const firstOption = await page.textContent('#sample option');
    expect(firstOption).toContain(sample.id);
    const shownBefore = await page.$$eval('#result ol.bars li .pct', (els) => els.map((e) => e.textContent));

    // All five modalities as .npy files: the same probabilities as grading the held-out sample.
    const npyFiles = Object.entries(sample.modalities).map(([m, f]) => {
      const path = join(ART, `${m}.npy`);
      writeFileSync(path, writeNpy({ dtype: 'float32', shape: f!.shape, data: f!.data }));
      return path;
    });
    await page.setInputFiles('#ckpt-file', ckptPath);
    await page.setInputFiles('#feat-file', npyFiles);
    await page.click('#grade-files');
    await page.waitForFunction(() => /^Graded your features/.test(document.getElementById('grade-status')?.textContent ?? '') || /Could not/.test(document.getElementById('grade-status')?.textContent ?? ''), null, { timeout: 120_000 });
    expect(await page.textContent('#grade-status')).toMatch(/^Graded your features \(video, flow, skeleton, image, text\) with the model from dualalign-06\.safetensors/);
    expect(await page.$$eval('#result ol.bars li .pct', (els) => els.map((e) => e.textContent))).toEqual(shownBefore);

    // A JSON file without flow: flow shows as missing (placeholder), the rest as used.
    const json = Object.fromEntries(
      Object.entries(sample.modalities)
        .filter(([m]) => m !== 'flow')
        .map(([m, f]) => [m, { shape: f!.shape, data: Array.from(f!.data) }]),
    );
    const jsonPath = join(ART, 'features-no-flow.json');
    writeFileSync(jsonPath, JSON.stringify(json));
    await page.setInputFiles('#feat-file', jsonPath);
    await page.evaluate(() => (document.getElementById('grade-status')!.textContent = ''));
    await page.click('#grade-files');
    await page.waitForFunction(() => (document.getElementById('grade-status')?.textContent ?? '') !== '' && !/^Loading|^Grading/.test(document.getElementById('grade-status')!.textContent!), null, { timeout: 120_000 });
    expect(await page.textContent('#grade-status')).toMatch(/^Graded your features \(video, skeleton, image, text\)/);
    const mods = await page.$$eval('#result .mods li', (els) => els.map((e) => `${e.className}:${e.textContent}`));
    expect(mods).toEqual(['used:✓ video', 'missing:✗ flow', 'used:✓ skeleton', 'used:✓ image', 'used:✓ text']);
    const bars = await page.$$eval('#result ol.bars li .pct', (els) => els.map((e) => parseFloat(e.textContent ?? '')));
    expect(bars.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
    await page.screenshot({ path: join(ART, 'example-uploaded.png'), fullPage: true });
    expect(s.errors, s.errors.join('\n')).toEqual([]);
  });

  it('says how to get WebGPU when the browser has none', async () => {
    const page = await s.context.newPage();
    try {
      await page.addInitScript(() => {
        Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined });
      });
      await page.goto(new URL('examples/web/', s.baseUrl).href);
      await page.waitForSelector('body[data-state="error"]', { timeout: 60_000 });
      const text = (await page.textContent('#device')) ?? '';
      expect(text).toMatch(/WebGPU is not available/);
      expect(text).toMatch(/enable-unsafe-webgpu/);
      expect(await page.isDisabled('#train')).toBe(true);
      await page.screenshot({ path: join(ART, 'example-no-webgpu.png') });
      // The page offers the CPU reference backend instead.
      await page.click('#use-cpu');
      await page.waitForSelector('body[data-state="ready"]');
      expect(await page.textContent('#device')).toMatch(/CPU reference backend/);
      expect(await page.isEnabled('#train')).toBe(true);
    } finally {
      await page.close();
    }
  });
});

if (!hasChromium) {
  describe('browser: the example page', () => {
    it.skip(skipReason, () => {});
  });
}
