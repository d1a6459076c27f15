/**
 * The package as a user sees it: installed in a separate folder (node_modules/dualalign-gpu holds this
 * package.json and a fresh build, scripts/build.mjs --outdir, its dependencies linked), then imported
 * by name in a fresh Node process, with the default (Node) conditions and with the "browser"
 * condition. Nothing here imports src/.
 *
 * Node: a DualAlign trained one step through the API, saved with saveCheckpoint (atomic) and loaded
 * with loadCheckpoint, predicts exactly what it predicted before; the same through checkpoint bytes
 * and through state-dict bytes into a fresh model; npy / npz round-trips; `dualalign-gpu/io` is
 * the same code as the root entry (one engine); non-exported paths are refused.
 * Browser condition: the same byte round-trip on the CPU backend, and no Node-only function.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
let dir = '';

/** Shared by both consumers: a small DualAlign on synthetic data (the sizes of examples/web). */
const COMMON = `
const SYNTH = { dims: { video: 24, flow: 24, image: 16, text: 16 }, clips: 3, framesPerClip: 2, imageFrames: 5, joints: 26, skeletonChannels: 3 };
const ds = api.generateSyntheticMMJDM({ seed: 7, actions: ['01'], samplesPerAction: 12, ...SYNTH, dims: { ...SYNTH.dims } });
const config = {
  numGrades: ds.actions[0].numGrades, d1: 16, d2: 16, d3: 8, heads: 2, dropout: 0.1, tau: 0.1, clips: SYNTH.clips, seed: 3,
  streams: [
    { name: 'video', kind: 'linear', inputDim: SYNTH.dims.video },
    { name: 'flow', kind: 'linear', inputDim: SYNTH.dims.flow },
    { name: 'skeleton', kind: 'graph', inputDim: 3, layout: 'halpe26', gcnChannels: [8, 16], inputNorm: 'center' },
  ],
  anchor: 'video', fusion: api.PAPER_FUSION,
  image: { name: 'image', inputDim: SYNTH.dims.image, kernelSize: 3 },
  text: { name: 'text', inputDim: SYNTH.dims.text },
};
api.manualSeed(5);
const model = new api.DualAlign(config);
const batch = api.collate(ds.samples.slice(0, 6), model.userConfig);
// one training step, so the weights are not the initial ones
const opt = new api.Adam(model.parameters(), { lr: 1e-2 });
const terms = model.loss(batch);
terms.total.backward();
opt.step({ loss: terms.total });
model.eval();
const flat = (p) => ({ grades: Array.from(p.grades ?? []), scores: Array.from(p.scores), probabilities: p.probabilities.map((r) => Array.from(r)) });
const before = flat(await model.predict(batch));
const out = { before };
// checkpoint bytes (everywhere)
const bytes = await io.encodeCheckpoint(model, { epoch: 1 });
const fromBytes = await io.decodeCheckpoint(bytes, 'bytes');
fromBytes.model.eval();
out.fromBytes = flat(await fromBytes.model.predict(batch));
out.extra = fromBytes.extra;
// a state dict as bytes into a fresh model of the same config
const sdBytes = await io.encodeStateDict(model, { note: 'weights only' });
const decoded = io.decodeStateDict(sdBytes);
const fresh = new api.DualAlign(config);
await fresh.loadStateDict(decoded.stateDict);
fresh.eval();
out.fromStateDict = flat(await fresh.predict(batch));
out.stateDictMetadata = decoded.metadata;
// npy / npz / safetensors
const arr = { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
const npy = io.readNpy(io.writeNpy(arr));
const npz = io.readNpz(io.writeNpz({ a: arr, b: { dtype: 'int32', shape: [2], data: Int32Array.from([7, 8]) } }));
const st = io.decodeSafetensors(io.encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: Float32Array.from([1.5, 2, -3]) } }, { k: 'v' }));
out.arrays = { npy: [npy.shape, Array.from(npy.data)], npz: [Object.keys(npz).sort(), Array.from(npz.b.data)], st: [Array.from(st.tensors.w.data), st.metadata] };
// pickle: allow-listed, so a GLOBAL outside the list is refused
out.unpickle = api.unpickle(Uint8Array.from([0x80, 0x02, 0x4b, 0x2a, 0x2e])); // PROTO 2, BININT1 42, STOP
try { api.unpickle(new TextEncoder().encode('cos\\nsystem\\n(S\\'echo\\'\\ntR.')); out.pickleRefused = false; } catch (e) { out.pickleRefused = String(e.message); }
out.sameIo = api.encodeCheckpoint === io.encodeCheckpoint && api.decodeStateDict === io.decodeStateDict;
`;

const NODE_CONSUMER = `
import * as api from 'dualalign-gpu';
import * as io from 'dualalign-gpu/io';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
await api.init();
${COMMON}
const path = join(process.argv[2], 'ckpt', 'model.safetensors');
await io.saveCheckpoint(path, model, { epoch: 1 });
await io.saveCheckpoint(path, model, { epoch: 2 }); // replaces it atomically
out.files = readdirSync(join(process.argv[2], 'ckpt'));
const loaded = await api.loadCheckpoint(path);
loaded.model.eval();
out.fromFile = flat(await loaded.model.predict(batch));
out.fileExtra = loaded.extra;
io.writeNpzFile(join(process.argv[2], 'arrays.npz'), { a: arr });
out.npzFile = Array.from(io.readNpzFile(join(process.argv[2], 'arrays.npz')).a.data);
out.sameSave = api.saveCheckpoint === io.saveCheckpoint;
out.nodeOnly = typeof api.trainAction;
for (const spec of ['dualalign-gpu/src/index.js', 'dualalign-gpu/dist/index.js']) {
  try { await import(spec); out[spec] = 'imported'; } catch (e) { out[spec] = e.code; }
}
console.log(JSON.stringify(out));
await api.shutdown();
`;

const BROWSER_CONSUMER = `
import * as api from 'dualalign-gpu';
import * as io from 'dualalign-gpu/io';
await api.init({ backend: 'cpu' });
${COMMON}
out.nodeOnly = [typeof api.trainAction, typeof api.saveCheckpoint, typeof io.saveCheckpoint, typeof api.loadPlainDataset];
out.browserInit = typeof api.webgpuUnavailableReason;
console.log(JSON.stringify(out));
`;

function runConsumer(file: string, conditions: string[] = []): Record<string, any> {
  const r = spawnSync(process.execPath, [...conditions.map((c) => `--conditions=${c}`), file, dir], { cwd: dir, encoding: 'utf8', timeout: 240_000, env: process.env });
  if (r.status !== 0) throw new Error(`consumer ${file} failed (status ${r.status}):\n${r.stderr}\n${r.stdout}`);
  const line = r.stdout.trim().split('\n').at(-1)!;
  return JSON.parse(line) as Record<string, any>;
}

function expectSamePredictions(out: Record<string, any>, key: string): void {
  expect(out[key].grades).toEqual(out.before.grades);
  expect(out[key].scores).toEqual(out.before.scores);
  expect(out[key].probabilities).toEqual(out.before.probabilities);
}

function expectByteRoundTrips(out: Record<string, any>): void {
  expect(out.before.probabilities.length).toBe(6);
  expectSamePredictions(out, 'fromBytes');
  expectSamePredictions(out, 'fromStateDict');
  expect(out.extra).toEqual({ epoch: 1 });
  expect(out.stateDictMetadata).toEqual({ note: 'weights only' });
  expect(out.arrays).toEqual({ npy: [[2, 3], [1, 2, 3, 4, 5, 6]], npz: [['a', 'b'], [7, 8]], st: [[1.5, 2, -3], { k: 'v' }] });
  expect(out.unpickle).toBe(42);
  expect(out.pickleRefused).toMatch(/os\.system|os system|GLOBAL/);
  expect(out.sameIo).toBe(true);
}

describe('the package imported by name (a consumer folder)', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dualalign-consumer-'));
    const pkg = join(dir, 'node_modules', 'dualalign-gpu');
    mkdirSync(pkg, { recursive: true });
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir'); // its dependencies (webgpu, ...)
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), `--outdir=${join(pkg, 'dist')}`], { cwd: ROOT, stdio: 'inherit' });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(join(dir, 'node.mjs'), NODE_CONSUMER);
    writeFileSync(join(dir, 'browser.mjs'), BROWSER_CONSUMER);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('Node: a model round-trips through saveCheckpoint / loadCheckpoint, bytes and state dicts with identical predictions', () => {
    const out = runConsumer('node.mjs');
    expectSamePredictions(out, 'fromFile');
    expect(out.fileExtra).toEqual({ epoch: 2 });
    expect(out.files).toEqual(['model.safetensors']); // no temporary file left by the atomic write
    expect(out.npzFile).toEqual([1, 2, 3, 4, 5, 6]);
    expectByteRoundTrips(out);
    expect(out.sameSave).toBe(true); // 'dualalign-gpu/io' shares the root entry's code (one engine)
    expect(out.nodeOnly).toBe('function');
    expect(out['dualalign-gpu/src/index.js']).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    expect(out['dualalign-gpu/dist/index.js']).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  it('browser condition: the browser entries round-trip bytes (CPU backend) and expose no Node-only function', () => {
    const out = runConsumer('browser.mjs', ['browser']);
    expectByteRoundTrips(out);
    expect(out.nodeOnly).toEqual(['undefined', 'undefined', 'undefined', 'undefined']);
    expect(out.browserInit).toBe('function');
  });

  it('package.json maps each condition to the declarations of the same entry it runs', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const build = readFileSync(join(ROOT, 'scripts/build.mjs'), 'utf8');
    // dist/types/<x>.d.ts is tsc's output for src/<x>.ts; dist/<entry>.js is esbuild's for the entry named in build.mjs.
    const src = (types: string) => types.replace('./dist/types/', 'src/').replace(/\.d\.ts$/, '.ts');
    const entries = { '.': ['src/index.ts', 'src/browser.ts'], './io': ['src/io/index.node.ts', 'src/io/index.ts'] } as const;
    for (const [sub, [nodeSrc, browserSrc]] of Object.entries(entries)) {
      const e = pkg.exports[sub];
      expect(Object.keys(e)[0]).toBe('browser'); // before "types": bundlers and TS with customConditions pick it first
      expect(src(e.types)).toBe(nodeSrc);
      expect(src(e.browser.types)).toBe(browserSrc);
      const name = sub === '.' ? 'index' : 'io';
      expect(e.default).toBe(`./dist/${name}.js`);
      expect(e.browser.default).toBe(`./dist/browser/${name}.js`);
      expect(build).toContain(`${name}: '${nodeSrc}'`);
      expect(build).toContain(`${name}: '${browserSrc}'`);
    }
  });

  it('examples/web imports only the package by name (and its own files)', () => {
    const dirWeb = join(ROOT, 'examples/web');
    for (const f of readdirSync(dirWeb).filter((n) => n.endsWith('.ts'))) {
      const specs = [...readFileSync(join(dirWeb, f), 'utf8').matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]!);
      for (const s of specs) expect(s, `${f} imports ${s}`).toMatch(/^(dualalign-gpu(\/io)?|\.\/[\w-]+\.js)$/);
    }
  });
});
