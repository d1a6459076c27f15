/**
 * Kernel parity in a real browser: each case of cases.ts runs on the page's WebGPU device (SwiftShader
 * here) and, in Node, on the CPU reference backend in float64; they must agree within 1e-4 (relative
 * to max(1, |expected|)).
 *
 * The page runs the cases through a test bundle built here from source with the browser build's
 * shims: src/browser.ts plus the Gram-volume alignment (src/alignment) and fused attention
 * (src/attention) ops when those folders exist, whether or not src/index.ts exports them yet. The
 * shipped bundle, dist/browser/index.js, is checked too: init() on the page's GPU, a case through
 * it, and its NoAdapterError when WebGPU is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import * as Lib from '../../src/index.js';
// @ts-expect-error plain .mjs script without types
import { browserShims } from '../../scripts/serve.mjs';
import { mulberry32, hashString } from '../../src/data/prng.js';
import { CASES, type InputSpec, type ParityCase } from './cases.js';
import { hasChromium, openSession, skipReason, type Session } from './harness.js';

const ROOT = join(import.meta.dirname, '../..');
const TOL = 1e-4;
const ART = join(ROOT, 'test-artifacts/browser');

/** Op families beyond src/index.ts that the cases cover when present: [folder probe, module path from test/browser]. */
const EXTRA_MODULES: [string, string][] = [
  ['src/alignment/index.ts', '../../src/alignment/index.js'],
  ['src/attention/crossAttention.ts', '../../src/attention/crossAttention.js'],
];
const extras = EXTRA_MODULES.filter(([probe]) => existsSync(join(ROOT, probe)));

/** The library for the Node side: src/index.ts plus the extra families. */
async function nodeLib(): Promise<Record<string, unknown>> {
  const lib: Record<string, unknown> = { ...Lib };
  for (const [probe] of extras) {
    const mod = (await import(/* @vite-ignore */ join(ROOT, probe))) as Record<string, unknown>;
    for (const [k, v] of Object.entries(mod)) if (!(k in lib)) lib[k] = v;
  }
  return lib;
}

/** Builds test-artifacts/browser/parity-bundle.js: src/browser.ts plus the extra families, for the page. */
async function buildParityBundle(): Promise<void> {
  mkdirSync(ART, { recursive: true });
  const entry = [`export * from '../../src/browser.ts';`, ...extras.map(([, mod]) => `export * from '${mod.replace(/\.js$/, '.ts')}';`)].join('\n');
  await build({
    stdin: { contents: entry, resolveDir: join(ROOT, 'test/browser'), sourcefile: 'parity-entry.ts', loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    outfile: join(ART, 'parity-bundle.js'),
    logLevel: 'warning',
    plugins: [browserShims],
  });
}

interface HostInput {
  shape: number[];
  int: boolean;
  values: number[];
}
type HostOutput = { shape: number[]; dtype: string; values: number[] };

function makeInputs(c: ParityCase): Record<string, HostInput> {
  const rng = mulberry32(hashString(c.name));
  const out: Record<string, HostInput> = {};
  for (const [k, spec] of Object.entries(c.inputs) as [string, InputSpec][]) {
    const s = Array.isArray(spec) ? { shape: spec } : spec;
    const n = s.shape.reduce((p, d) => p * d, 1);
    const int = 'int' in s && s.int !== undefined;
    const scale = ('scale' in s && s.scale) || 1;
    const values = Array.from({ length: n }, () => (int ? rng.int((s as { int: number }).int) : Math.fround(rng.normal() * scale)));
    out[k] = { shape: s.shape, int, values };
  }
  return out;
}

async function readOutputs(r: Lib.Tensor | Lib.Tensor[]): Promise<HostOutput[]> {
  const list = Array.isArray(r) ? r : [r];
  return Promise.all(list.map(async (t) => ({ shape: [...t.shape], dtype: t.dtype, values: Array.from(await t.data()) })));
}

/** The CPU reference (float64) in this process. */
async function reference(L: Record<string, unknown>, c: ParityCase, inputs: Record<string, HostInput>): Promise<HostOutput[]> {
  const x: Record<string, Lib.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) {
    x[k] = v.int
      ? Lib.tensor(Int32Array.from(v.values), v.shape, { backend: 'cpu', dtype: 'int32' })
      : Lib.tensor(Float64Array.from(v.values), v.shape, { backend: 'cpu', dtype: 'float64' });
  }
  return readOutputs(c.run(L as unknown as typeof Lib, x));
}

function compare(name: string, got: HostOutput[], want: HostOutput[]): void {
  expect(got.length, `${name}: number of outputs`).toBe(want.length);
  want.forEach((w, i) => {
    const g = got[i]!;
    expect(g.shape, `${name}: output ${i} shape`).toEqual(w.shape);
    expect(g.dtype, `${name}: output ${i} dtype`).toBe(w.dtype === 'float64' ? 'float32' : w.dtype);
    let worst = 0;
    let at = -1;
    for (let j = 0; j < w.values.length; j++) {
      const err = Math.abs(g.values[j]! - w.values[j]!) / Math.max(1, Math.abs(w.values[j]!));
      if (!(err <= worst)) {
        worst = err;
        at = j;
      }
    }
    expect(worst, `${name}: output ${i} worst error ${worst} at flat index ${at} (got ${g.values[at]}, want ${w.values[at]})`).toBeLessThanOrEqual(TOL);
  });
}

describe.skipIf(!hasChromium)('browser: kernel parity with the CPU reference', () => {
  let s: Session;

  let L: Record<string, unknown>;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/browser/index.js'))) {
      // `npm run test:browser` builds first; a bare `vitest --config vitest.browser.config.ts` may not have.
      execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
    }
    await buildParityBundle();
    await Lib.init({ backend: 'cpu' });
    L = await nodeLib();
    s = await openSession('test/browser/blank.html');
    await s.page.waitForFunction(() => 'L' in globalThis || 'loadError' in globalThis);
    const loadError = await s.page.evaluate(() => (globalThis as { loadError?: string }).loadError);
    if (loadError) throw new Error(`dist/browser/index.js failed to load in the page: ${loadError}`);
    const info = await s.page.evaluate(() => (globalThis as unknown as { L: typeof Lib }).L.init());
    console.log(`[test:browser] page adapter: ${info.backend} ${info.featureLevel} — ${info.vendor} ${info.architecture} ${info.description}`);
    const families = await s.page.evaluate(async () => {
      const importModule = (globalThis as unknown as { importModule: (u: string) => Promise<typeof Lib> }).importModule;
      const T = await importModule('/test-artifacts/browser/parity-bundle.js');
      await T.init();
      (globalThis as unknown as { T: typeof Lib }).T = T;
      return Object.keys(T).length;
    });
    console.log(`[test:browser] parity bundle: ${families} exports (src/browser.ts${extras.map(([p]) => ` + ${p}`).join('')})`);
  });

  afterAll(async () => {
    await s?.close();
  });

  it('init() in the page acquires a WebGPU device through navigator.gpu', async () => {
    const info = await s.page.evaluate(() => (globalThis as unknown as { L: typeof Lib }).L.deviceInfo());
    expect(info.backend).toMatch(/^webgpu/);
    expect(Object.keys(info.limits).length).toBeGreaterThan(0);
  });

  async function runInPage(c: ParityCase, inputs: Record<string, HostInput>, bundle: 'T' | 'L'): Promise<HostOutput[]> {
    return s.page.evaluate(
        async ({ src, inputs, bundle }) => {
          const L = (globalThis as unknown as Record<string, typeof Lib>)[bundle]!;
          const run = new Function(`return (${src});`)() as ParityCase['run'];
          const x: Record<string, Lib.Tensor> = {};
          for (const [k, v] of Object.entries(inputs)) {
            x[k] = v.int ? L.tensor(Int32Array.from(v.values), v.shape, { dtype: 'int32' }) : L.tensor(Float32Array.from(v.values), v.shape);
          }
          const r = run(L, x);
          const list = Array.isArray(r) ? r : [r];
          const out = [];
          for (const t of list) out.push({ shape: [...t.shape], dtype: t.dtype as string, values: Array.from(await t.data()) });
          await L.sync();
          return out;
        },
        { src: c.run.toString(), inputs, bundle },
      );
  }

  it('the shipped bundle dist/browser/index.js agrees on a forward + backward case', async () => {
    const c = CASES.find((k) => k.name.startsWith('backward: two-layer MLP'))!;
    const inputs = makeInputs(c);
    compare(c.name, await runInPage(c, inputs, 'L'), await reference(L, c, inputs));
  });

  for (const c of CASES) {
    it(c.name, async (ctx) => {
      if (c.needs && typeof L[c.needs] !== 'function') ctx.skip(`${c.needs} is not in src/index.ts or ${EXTRA_MODULES.map(([p]) => p).join(', ')}`);
      const inputs = makeInputs(c);
      const want = await reference(L, c, inputs);
      const got = await runInPage(c, inputs, 'T');
      compare(c.name, got, want);
      expect(s.errors, 'console errors in the page').toEqual([]);
    });
  }

  it('init() without WebGPU throws NoAdapterError with a browser hint', async () => {
    const page = await s.context.newPage();
    try {
      await page.goto(new URL('test/browser/blank.html', s.baseUrl).href);
      await page.waitForFunction(() => 'L' in globalThis);
      const results = await page.evaluate(async () => {
        const importModule = (globalThis as unknown as { importModule: (u: string) => Promise<typeof Lib> }).importModule;
        const out: { name: string; message: string }[] = [];
        // No navigator.gpu at all (a fresh module instance: the query string makes it a new module).
        const desc = Object.getOwnPropertyDescriptor(Navigator.prototype, 'gpu');
        Object.defineProperty(Navigator.prototype, 'gpu', { configurable: true, get: () => undefined });
        const A = await importModule('/dist/browser/index.js?no-gpu');
        await A.init().catch((e: Error) => out.push({ name: e.name, message: e.message }));
        if (desc) Object.defineProperty(Navigator.prototype, 'gpu', desc);
        // navigator.gpu present, but no adapter.
        navigator.gpu.requestAdapter = async () => null;
        const B = await importModule('/dist/browser/index.js?no-adapter');
        await B.init().catch((e: Error) => out.push({ name: e.name, message: e.message }));
        // The CPU backend needs no WebGPU.
        const cpu = await B.init({ backend: 'cpu' });
        out.push({ name: 'cpu', message: cpu.backend });
        return out;
      });
      expect(results).toHaveLength(3);
      expect(results[0]!.name).toBe('NoAdapterError');
      expect(results[0]!.message).toMatch(/navigator\.gpu is undefined/);
      expect(results[0]!.message).toMatch(/enable-unsafe-webgpu/);
      expect(results[1]!.name).toBe('NoAdapterError');
      expect(results[1]!.message).toMatch(/requestAdapter\(\) found no adapter/);
      expect(results[1]!.message).not.toMatch(/setup\.sh/);
      expect(results[2]).toEqual({ name: 'cpu', message: 'cpu' });
    } finally {
      await page.close();
    }
  });
});

if (!hasChromium) {
  describe('browser: kernel parity', () => {
    it.skip(skipReason, () => {});
  });
}
