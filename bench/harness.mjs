// Benchmark timing: warm-up, then interleaved rounds (every implementation of a case takes one
// sample per round, so load from other processes hits all of them alike) until each one's relative
// margin of error is small or its time budget is spent. A sample times `reps` runs followed by the
// implementation's fence (GPU work is timed to completion: our sync(), a peer's queue drain or
// readback). Both wall time and process CPU time (all threads: lavapipe's workers, wasm, JS) are
// recorded per run.
//
// Why our own loop rather than benchmark.js: benchmark.js times one benchmark to completion before
// the next (no interleaving), and its deferred mode adds a timer round trip per cycle. Its statistics
// (mean, standard error, t-distribution margin of error) are reproduced in `stats`.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Two-sided 95% t quantiles by degrees of freedom (benchmark.js uses the same table). */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
  2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
const tCrit = (df) => (df < 1 ? NaN : df <= T95.length ? T95[df - 1] : 1.96);

export function stats(xs) {
  const n = xs.length;
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  const sd = Math.sqrt(variance);
  const sem = sd / Math.sqrt(n);
  const q = (p) => {
    const i = (n - 1) * p;
    const lo = Math.floor(i);
    return sorted[lo] + (sorted[Math.min(lo + 1, n - 1)] - sorted[lo]) * (i - lo);
  };
  const median = q(0.5);
  const mad = medianOf(xs.map((x) => Math.abs(x - median)));
  return {
    n,
    mean,
    median,
    min: sorted[0],
    max: sorted[n - 1],
    p25: q(0.25),
    p75: q(0.75),
    sd,
    mad,
    /** Relative margin of error of the mean at 95%, in percent (benchmark.js's `rme`). */
    rme: n > 1 && mean > 0 ? ((tCrit(n - 1) * sem) / mean) * 100 : Infinity,
  };
}

function medianOf(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Measures implementations of one case, interleaved.
 * impls: [{ id, run(): void | Promise<void>, fence(): Promise<void>, prepare?(): Promise<void> }]
 *   (prepare runs untimed before each sample, e.g. to make a tfjs backend the active one)
 * opts: { targetRme (%), minSamples, maxSamples, budgetMs (per implementation), sampleMs (target
 *         duration of one sample), maxReps }
 * Returns { [id]: { samples: {wallMs[], cpuMs[]}, reps, wall: stats, cpu: stats, warmupMs } }.
 */
export async function measure(impls, opts = {}) {
  const o = { targetRme: 3, minSamples: 5, maxSamples: 40, budgetMs: 15000, sampleMs: 150, maxReps: 256, ...opts };
  const state = [];
  for (const impl of impls) {
    // Warm-up: first run compiles pipelines / JITs; the second one calibrates the sample size.
    await impl.prepare?.();
    const t0 = performance.now();
    await impl.run();
    await impl.fence();
    const warmupMs = performance.now() - t0;
    const t1 = performance.now();
    await impl.run();
    await impl.fence();
    const one = Math.max(performance.now() - t1, 1e-3);
    const reps = Math.max(1, Math.min(o.maxReps, Math.floor(o.sampleMs / one)));
    state.push({ impl, reps, wall: [], cpu: [], spent: 0, done: false, warmupMs, firstMs: one });
  }
  const sample = async (s) => {
    await s.impl.prepare?.();
    const c0 = cpuMs();
    const t0 = performance.now();
    for (let i = 0; i < s.reps; i++) await s.impl.run();
    await s.impl.fence();
    const wall = performance.now() - t0;
    const cpu = cpuMs() - c0;
    s.wall.push(wall / s.reps);
    s.cpu.push(cpu / s.reps);
    s.spent += wall;
  };
  for (let round = 0; state.some((s) => !s.done); round++) {
    for (const s of state) {
      if (s.done) continue;
      await sample(s);
      const n = s.wall.length;
      const st = stats(s.wall);
      if (n >= o.maxSamples || (n >= o.minSamples && (st.rme <= o.targetRme || s.spent >= o.budgetMs)) || (n >= 2 && s.spent >= o.budgetMs * 2)) {
        s.done = true;
      }
    }
  }
  const out = {};
  for (const s of state) {
    out[s.impl.id] = {
      reps: s.reps,
      warmupMs: round3(s.warmupMs),
      wall: roundStats(stats(s.wall)),
      cpu: roundStats(stats(s.cpu)),
      samples: { wallMs: s.wall.map(round3), cpuMs: s.cpu.map(round3) },
    };
  }
  return out;
}

const round3 = (x) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);
function roundStats(s) {
  const out = {};
  for (const [k, v] of Object.entries(s)) out[k] = typeof v === 'number' ? round3(v) : v;
  return out;
}

/** Compares a peer's output with ours: max |diff| relative to ours' largest magnitude. */
export function compareOutputs(ours, theirs, tol) {
  if (ours.length !== theirs.length) return { ok: false, message: `length ${theirs.length} vs ours ${ours.length}` };
  let scale = 0;
  for (const v of ours) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  let at = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - theirs[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  const rel = worst / (scale || 1);
  return rel <= tol
    ? { ok: true, maxRelDiff: rel }
    : { ok: false, maxRelDiff: rel, message: `element ${at}: ${theirs[at]} vs ours ${ours[at]} (max relative difference ${rel.toExponential(2)} > ${tol})` };
}

/** The vector extensions llvmpipe can use (from /proc/cpuinfo; [] elsewhere): they decide a software adapter's numbers. */
function cpuVectorFlags() {
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    const have = new Set(line.trim().split(/\s+/));
    return ['avx2', 'fma', 'avx512f'].filter((f) => have.has(f));
  } catch {
    return [];
  }
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cpuFlags: cpuVectorFlags(),
    cores: cpus.length,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Deterministic uniform data in [-1, 1). */
export function randomData(n, seed = 1) {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}
