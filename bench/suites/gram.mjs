// Gram suite: forward + backward of the GRAM alignment loss (gramContrastiveLoss, tau = 0.1,
// both directions summed) at the paper's sizes, every implementation in the same run:
//   fused    our WGSL kernels (wgsl/gram.wgsl + wgsl/contrastive.wgsl): 3 + 4 dispatches for small
//            problems (generated contraction kernels), matmuls + epilogues for large ones
//   unfused  the same math composed from our own engine ops (composedGramContrastiveLoss: normalize,
//            matmul Grams, Laplace determinant, crossEntropy both ways), K <= 4
//   tfjs     that composition in TensorFlow.js's WebGPU backend on the same adapter (tf.grads)
//   torch-*  PyTorch CPU (bench/torch_gram.py: naive double loop, vectorized, closed-form det),
//            when /usr/bin/python3 has torch (apt-get install -y python3-torch)
// One step = loss, backward, both gradients read back to the host (both reads in flight at once). Each implementation runs its
// warm-up and reps in one block; we report the median and the minimum per implementation, and the
// speedups of `fused` (medians) from the same run.
//
// Harness use: export `name` and `run(ctx)`; ctx = { lib, quick?, log?, tf?, torch? } where lib
// is the package (dist/index.js). Standalone: `node bench/suites/gram.mjs [--quick] [--json]
// [--no-tf] [--no-torch] [--cases "32,3,1024;128,3,1024"] [--write] [--profile]` (--write saves
// bench/results/gram-<date>.json; DUALALIGN_DIST=path/to/index.js benches another build).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const name = 'gram';

const HERE = dirname(fileURLToPath(import.meta.url));
export const CASES = [
  [32, 3, 1024],
  [128, 3, 1024],
  [256, 3, 1024],
  [1024, 3, 512],
  [32, 4, 512],
];
const TAU = 0.1;

function seeded(n, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

/** Inputs with aligned structure (others = anchor + noise), as the loss sees in training. */
function inputs(B, K, D) {
  const a = seeded(B * D, 1);
  const n = seeded(B * (K - 1) * D, 2);
  const o = new Float32Array(B * (K - 1) * D);
  for (let i = 0; i < B; i++) for (let k = 0; k < K - 1; k++) for (let d = 0; d < D; d++) o[(i * (K - 1) + k) * D + d] = a[i * D + d] + n[(i * (K - 1) + k) * D + d];
  return { a, o };
}

// ---- TensorFlow.js (WebGPU backend on the same Dawn adapter) --------------------------------------

/**
 * tfjs-core registers its gradients only in its ESM sources (extensionless imports Node cannot
 * load), so tfjs-core + gradients + the WebGPU backend are bundled once with esbuild into
 * node_modules/.cache/ (one tfjs-core instance for both).
 */
async function tfBundle() {
  const root = join(HERE, '..', '..');
  const dir = join(root, 'node_modules', '.cache', 'dualalign-bench-tf');
  const out = join(dir, 'tf.mjs');
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const entry = join(dir, 'entry.mjs');
    writeFileSync(entry, "export * from '@tensorflow/tfjs-core';\nimport '@tensorflow/tfjs-core/dist/register_all_gradients';\nimport '@tensorflow/tfjs-backend-webgpu';\n");
    const { build } = await import('esbuild');
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error', nodePaths: [join(root, 'node_modules')], absWorkingDir: root, mainFields: ['module', 'main'], banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
  }
  return out;
}

export async function loadTf(log = console.log) {
  try {
    const webgpu = await import('webgpu');
    if (!globalThis.navigator?.gpu) {
      Object.assign(globalThis, webgpu.globals);
      Object.defineProperty(globalThis, 'navigator', { value: { gpu: webgpu.create([]) }, configurable: true, writable: true });
    }
    const tf = await import(await tfBundle());
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
    await tf.ready();
    return tf;
  } catch (e) {
    log(`tfjs column skipped: ${e.message}`);
    return null;
  }
}

function tfLaplaceDet(tf, m) {
  const n = m.length;
  if (n === 1) return m[0][0];
  if (n === 2) return tf.sub(tf.mul(m[0][0], m[1][1]), tf.mul(m[0][1], m[1][0]));
  let acc = null;
  for (let c = 0; c < n; c++) {
    const minor = m.slice(1).map((row) => row.filter((_, k) => k !== c));
    const term = tf.mul(m[0][c], tfLaplaceDet(tf, minor));
    acc = acc === null ? term : c % 2 === 0 ? tf.add(acc, term) : tf.sub(acc, term);
  }
  return acc;
}

/** The composition of composedGramContrastiveLoss in tfjs ops. */
function tfGramLoss(tf, a, o, B, K, D) {
  const Km = K - 1;
  const normalize = (x) => tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.mul(x, x), -1, true), 1e-24)));
  const ah = normalize(a);
  const mh = normalize(o);
  const C = tf.reshape(tf.matMul(tf.reshape(mh, [B * Km, D]), ah, false, true), [B, Km, B]);
  const S = tf.matMul(mh, mh, false, true);
  const G = Array.from({ length: K }, () => new Array(K));
  G[0][0] = tf.reshape(tf.sum(tf.mul(ah, ah), -1), [1, B]);
  for (let k = 1; k < K; k++) {
    const c = tf.reshape(tf.slice(C, [0, k - 1, 0], [B, 1, B]), [B, B]);
    G[0][k] = c;
    G[k][0] = c;
    for (let l = 1; l < K; l++) G[k][l] = tf.reshape(tf.slice(S, [0, k - 1, l - 1], [B, 1, 1]), [B, 1]);
  }
  const V = tf.sqrt(tf.maximum(tfLaplaceDet(tf, G), 1e-12));
  const logits = tf.mul(V, -1 / TAU);
  const onehot = tf.oneHot(tf.range(0, B, 1, 'int32'), B);
  const ce = (x) => tf.mean(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(x, -1)), -1)));
  return tf.add(ce(logits), ce(tf.transpose(logits)));
}

// ---- PyTorch CPU ----------------------------------------------------------------------------------

export function runTorch(cases, { log = console.log, naiveMaxPairs = 32 * 32, reps = 5 } = {}) {
  const py = '/usr/bin/python3';
  const script = join(HERE, '..', 'torch_gram.py');
  if (!existsSync(py)) return null;
  const r = spawnSync(py, [script, '--json', '--reps', String(reps), '--naive-max-pairs', String(naiveMaxPairs), '--cases', cases.map((c) => c.join(',')).join(';')], { encoding: 'utf8', timeout: 30 * 60 * 1000 });
  if (r.status !== 0) {
    log(`torch column skipped: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// ---- checking -----------------------------------------------------------------------------------------

/** Max |difference| / max |ours| allowed before an implementation is timed (fp32 vs fp32). */
const CHECK_TOL = 1e-3;

function maxRelDiff(a, b) {
  let e = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return a.length === b.length ? e / Math.max(m, 1e-30) : Infinity;
}

/** Runs one of our steps and returns the gradients it left in A and O. */
async function gradsOf(step, A, O) {
  await step();
  return [await A.grad.data(), await O.grad.data()];
}

// ---- timing -----------------------------------------------------------------------------------------

/**
 * Timing in blocks: every implementation's warm-up and reps run back to back (a tfjs step between
 * two of ours was seen to slow ours 2-4× on lavapipe: two devices' worker threads on 2 cores).
 */
async function timeBlocks(impls, { rounds, budgetMs }) {
  const stats = {};
  for (const [k, step] of Object.entries(impls)) {
    await step(); // warm-up (pipeline compiles)
    const ts = [];
    const start = performance.now();
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      await step();
      ts.push(performance.now() - t0);
      if (r >= 1 && performance.now() - start > budgetMs) break;
    }
    const s = [...ts].sort((x, y) => x - y);
    stats[k] = { median: s[Math.floor(s.length / 2)], min: s[0], reps: s.length };
  }
  return stats;
}

export async function run(ctx = {}) {
  const lib = ctx.lib;
  const log = ctx.log ?? ((...a) => console.log(...a));
  const quick = !!ctx.quick;
  const cases = ctx.cases ?? (quick ? CASES.slice(0, 2) : CASES);
  const tf = ctx.tf === false ? null : ctx.tf ?? (await loadTf(log));
  const torch = ctx.torch === false ? null : runTorch(cases, { log, naiveMaxPairs: ctx.torchNaiveMaxPairs ?? 32 * 32 });
  const results = [];
  const table = [];
  for (const [B, K, D] of cases) {
    const { a, o } = inputs(B, K, D);
    const A = lib.tensor(a, [B, D], { requiresGrad: true });
    const O = lib.tensor(o, [B, K - 1, D], { requiresGrad: true });
    const libStep = (lossFn) => async () => {
      A.zeroGrad();
      O.zeroGrad();
      const L = lossFn(A, O, { tau: TAU });
      L.backward();
      await Promise.all([A.grad.data(), O.grad.data()]);
      L.dispose();
    };
    const impls = { fused: libStep(lib.gramContrastiveLoss) };
    if (K <= 4) impls.unfused = libStep(lib.composedGramContrastiveLoss);
    let ta, to, tfGrads;
    if (tf && K <= 4) {
      ta = tf.tensor2d(a, [B, D]);
      to = tf.tensor3d(o, [B, K - 1, D]);
      const g = tf.grads((x, y) => tfGramLoss(tf, x, y, B, K, D));
      tfGrads = async () => {
        const [ga, go] = tf.tidy(() => g([ta, to]));
        const out = [await ga.data(), await go.data()];
        ga.dispose();
        go.dispose();
        return out;
      };
      impls.tfjs = async () => {
        const [ga, go] = tf.tidy(() => g([ta, to]));
        await Promise.all([ga.data(), go.data()]);
        ga.dispose();
        go.dispose();
      };
    }
    // Every implementation's gradients are checked against the fused kernels' before it is timed.
    const ref = await gradsOf(impls.fused, A, O);
    for (const k of Object.keys(impls)) {
      if (k === 'fused') continue;
      const got = k === 'tfjs' ? await tfGrads() : await gradsOf(impls[k], A, O);
      const diff = Math.max(maxRelDiff(got[0], ref[0]), maxRelDiff(got[1], ref[1]));
      if (!(diff <= CHECK_TOL)) {
        log(`${k} at B=${B},K=${K},D=${D}: gradients differ from ours (max rel diff ${diff.toExponential(1)}), not timed`);
        delete impls[k];
      }
    }
    const big = B * B * D >= 256 * 256 * 1024;
    const stats = await timeBlocks(impls, { rounds: quick ? 3 : big ? 3 : 15, budgetMs: quick ? 5_000 : big ? 20_000 : 60_000 });
    A.dispose();
    O.dispose();
    ta?.dispose();
    to?.dispose();
    const shape = `B=${B},K=${K},D=${D}`;
    const row = { B, K, D };
    for (const [k, s] of Object.entries(stats)) {
      results.push({ name: `gram/${k}/${shape}`, value: s.median, min: s.min, reps: s.reps, unit: 'ms' });
      row[k] = s.median;
    }
    for (const t of torch?.results ?? []) {
      if (t.B === B && t.K === K && t.D === D && t.ms !== null) {
        results.push({ name: `gram/torch-${t.variant}/${shape}`, value: t.ms, unit: 'ms', note: `PyTorch ${torch.torch} CPU, ${torch.threads} threads, median` });
        row[`torch-${t.variant}`] = t.ms;
      }
    }
    for (const k of ['unfused', 'tfjs', 'torch-naive', 'torch-vectorized', 'torch-closed']) {
      if (row[k] !== undefined) results.push({ name: `gram/speedup-vs-${k}/${shape}`, value: row[k] / row.fused, unit: 'x' });
    }
    table.push(row);
    log(
      `${shape.padEnd(20)} ` +
        Object.entries(row)
          .filter(([k]) => !'BKD'.includes(k))
          .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
          .join(' | '),
    );
  }
  return results;
}

// ---- profile ---------------------------------------------------------------------------------------

/**
 * Per-dispatch profile of the fused step (`--profile`): the runtime batches a step's dispatches
 * into one submit, so each kernel's cost is measured by re-dispatching it R more times (every
 * gram / contrastive kernel is idempotent) and dividing the step's extra time by R. The step's
 * own median and its dispatch list come first.
 */
export async function profile(lib, cases, { R = Number(process.env.GRAM_PROFILE_R ?? 8), rounds = Number(process.env.GRAM_PROFILE_ROUNDS ?? 9), log = console.log } = {}) {
  const rt = lib.gpuRuntime();
  const orig = rt.dispatch.bind(rt);
  let seen = [];
  let repeat = null;
  rt.dispatch = (kernel, ...rest) => {
    seen.push(kernel.name);
    const n = kernel.name === repeat ? R + 1 : 1;
    for (let r = 0; r < n; r++) orig(kernel, ...rest);
  };
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (const [B, K, D] of cases) {
    const { a, o } = inputs(B, K, D);
    const A = lib.tensor(a, [B, D], { requiresGrad: true });
    const O = lib.tensor(o, [B, K - 1, D], { requiresGrad: true });
    const step = async () => {
      A.zeroGrad();
      O.zeroGrad();
      const L = lib.gramContrastiveLoss(A, O, { tau: TAU });
      L.backward();
      await Promise.all([A.grad.data(), O.grad.data()]);
      L.dispose();
    };
    // wall and process CPU time (lavapipe's threads included: steadier than wall under load)
    const time = async () => {
      await step();
      const wall = [];
      const cpus = [];
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        const c0 = cpu();
        await step();
        cpus.push(cpu() - c0);
        wall.push(performance.now() - t0);
      }
      return { wall: median(wall), cpu: median(cpus) };
    };
    seen = [];
    repeat = null;
    await step();
    const kernels = [...seen];
    const base = await time();
    log(`B=${B},K=${K},D=${D}: step ${base.wall.toFixed(2)} ms wall, ${base.cpu.toFixed(2)} ms CPU; ${kernels.length} dispatches [${kernels.join(', ')}]`);
    for (const k of new Set(kernels)) {
      repeat = k;
      const t = await time();
      repeat = null;
      const times = kernels.filter((x) => x === k).length;
      log(`  ${k.padEnd(24)} x${times}: ${((t.wall - base.wall) / R / times).toFixed(3)} ms wall, ${((t.cpu - base.cpu) / R / times).toFixed(3)} ms CPU per dispatch`);
    }
    A.dispose();
    O.dispose();
  }
  rt.dispatch = orig;
}

// Standalone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (flag) => {
    const i = process.argv.indexOf(flag);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const cases = arg('--cases')?.split(';').map((c) => c.split(',').map(Number));
  if (process.argv.includes('--profile')) {
    const lib = await import(new URL('../../dist/index.js', import.meta.url).href);
    await lib.init();
    await profile(lib, cases ?? CASES.slice(0, 3));
    lib.shutdown?.();
    process.exit(0);
  }
  const tf = process.argv.includes('--no-tf') ? false : await loadTf(); // before init: one navigator.gpu for both
  const dist = process.env.DUALALIGN_DIST ?? new URL('../../dist/index.js', import.meta.url).href;
  const lib = await import(dist.startsWith('/') ? `file://${dist}` : dist);
  const info = await lib.init();
  console.log(`adapter: ${info.vendor} ${info.architecture} ${info.description}`);
  const loadStart = loadavg();
  const results = await run({ lib, quick: process.argv.includes('--quick'), tf, torch: process.argv.includes('--no-torch') ? false : undefined, cases });
  // the machine is shared: the 1/5/15-minute load averages at the start and the end of the run
  const doc = { suite: name, date: new Date().toISOString(), adapter: info, tau: TAU, cpus: cpus().length, loadavg: { start: loadStart, end: loadavg() }, results };
  if (process.argv.includes('--write')) {
    const dir = join(HERE, '..', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `gram-${doc.date.slice(0, 10)}.json`);
    writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
    console.log(`wrote ${file}`);
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(doc, null, 2));
  lib.shutdown?.();
  process.exit(0);
}
