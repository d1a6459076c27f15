#!/usr/bin/env node
// Benchmark runner: `npm run bench` (builds dist/ first), or `node bench/run.mjs [flags]`.
//
//   --quick              smoke subset (CI, < 2 minutes): each suite's quick cases, short budgets,
//                        results to bench/results/tmp/ (not committed), no report
//   --suite=a,b          only these suites (the roofline suite always runs unless --no-roofline)
//   --peers=a,b          peers to run (default all of bench/peers/index.mjs; quick: the GPU peers and
//                        tfjs-wasm; --peers= for none)
//   --budget=ms          time budget per implementation per case (default 20000; quick 2000)
//   --rme=pct            stop sampling at this relative margin of error (default 3; quick 15)
//   --out=file           results file (default bench/results/<date>-<adapter>[-<suites>].json)
//   --no-report          do not regenerate BENCHMARKS.md
//   --list               list suites and cases
//
// A suite is one file in bench/suites/ exporting default { name, title, unit, description,
// cases({ quick }) => [case] }; a case is { name, quick?, flops | bytes, tolerance?,
// ours(L) => impl, peers: { [peerId]: (ctx) => impl } } (ctx: bench/peers/index.mjs) where impl is { run(), output?(), dispose(),
// plan?, last?() }. run() enqueues one execution (the harness adds the fence); output() returns the
// result's values (peers are checked against ours before their timings count).
//
// Exit status: non-zero when a suite or one of our implementations failed (CI runs --quick to catch a
// broken suite); a peer that fails or disagrees with ours is recorded, not fatal.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compareOutputs, machineInfo, measure } from './harness.mjs';
import { PEERS, QUICK_PEERS } from './peers/index.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

function parseArgs(argv) {
  const o = {};
  for (const a of argv) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    o[m[1]] = m[2] ?? true;
  }
  return o;
}

const args = parseArgs(process.argv.slice(2));
const quick = !!args.quick;
if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'xdg-'));

async function loadSuites() {
  const files = readdirSync(join(here, 'suites')).filter((f) => f.endsWith('.mjs')).sort();
  const suites = [];
  for (const f of files) {
    const mod = await import(pathToFileURL(join(here, 'suites', f)).href);
    if (mod.default?.cases) suites.push({ ...mod.default, file: f });
    // Self-timed suites: `export const name` + `export async function run({ lib, quick, log })`
    // returning [{ name, value, unit, ... }] (bench/suites/gram.mjs, model.mjs).
    else if (typeof mod.run === 'function') suites.push({ name: mod.name ?? f.replace(/\.mjs$/, ''), title: mod.title ?? mod.name, order: mod.order, run: mod.run, file: f, cases: () => [] });
    else console.warn(`bench/suites/${f}: exports neither a default { cases } suite nor run(ctx); skipped`);
  }
  return suites.sort((a, b) => (a.order ?? 0) - (b.order ?? 0) || a.name.localeCompare(b.name));
}

const suites = await loadSuites();
const wanted = typeof args.suite === 'string' ? args.suite.split(',').filter(Boolean) : null;
const selected = suites.filter((s) => (s.name === 'roofline' ? !args['no-roofline'] : !wanted || wanted.includes(s.name)));
if (wanted) for (const w of wanted) if (!suites.some((s) => s.name === w)) throw new Error(`no suite '${w}' (have ${suites.map((s) => s.name).join(', ')})`);

if (args.list) {
  for (const s of suites) {
    console.log(`${s.name} (${s.file}): ${s.title}`);
    if (s.run) console.log('  (self-timed suite: run(ctx))');
    for (const c of s.cases({ quick: false })) console.log(`  ${c.quick ? '[quick] ' : '        '}${c.name}  peers: ${Object.keys(c.peers ?? {}).join(', ') || '-'}`);
  }
  process.exit(0);
}

let L;
try {
  L = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
} catch (e) {
  console.error(`cannot load dist/index.js (${e.message}); run \`node scripts/build.mjs --no-types\` or \`npm run bench\``);
  process.exit(1);
}
const device = await L.init();
if (device.backend === 'cpu') {
  console.error('the library initialized its CPU reference backend; the benchmarks need a WebGPU adapter');
  process.exit(1);
}

const peerIds = (typeof args.peers === 'string' ? args.peers.split(',').filter(Boolean) : quick ? QUICK_PEERS : Object.keys(PEERS)).filter((id) => {
  if (!(id in PEERS)) throw new Error(`no peer '${id}' (have ${Object.keys(PEERS).join(', ')})`);
  return true;
});
const casesBySuite = selected.map((s) => ({ suite: s, cases: s.cases({ quick }).filter((c) => !quick || c.quick) }));
const neededPeers = peerIds.filter((id) => casesBySuite.some(({ cases }) => cases.some((c) => c.peers && id in c.peers)));
const peers = {}; // id → info recorded in the results (versions, adapter) or { error }
const peerCtx = {};
for (const id of neededPeers) {
  try {
    peerCtx[id] = await PEERS[id].load();
    peers[id] = await PEERS[id].info();
  } catch (e) {
    peers[id] = { error: `failed to initialize: ${e.message}` };
    console.log(`peer ${id}: ${peers[id].error}`);
  }
}
const failures = [];

const opts = quick
  ? { targetRme: Number(args.rme ?? 15), minSamples: 3, maxSamples: 6, budgetMs: Number(args.budget ?? 2000), sampleMs: 60 }
  : { targetRme: Number(args.rme ?? 3), minSamples: 5, maxSamples: 30, budgetMs: Number(args.budget ?? 20000), sampleMs: 200 };

const machine = machineInfo();
const lpEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(LP_|GALLIVM_|DUALALIGN_|MESA_)/.test(k)));
const results = {
  schema: 1,
  date: new Date().toISOString(),
  quick,
  machine: { ...machine, loadavgStart: machine.loadavg, loadavg: undefined },
  adapter: {
    backend: device.backend,
    featureLevel: device.featureLevel,
    vendor: device.vendor,
    architecture: device.architecture,
    description: device.description,
    features: device.features,
  },
  env: lpEnv,
  peers,
  options: opts,
  suites: [],
};

const timed = (r) => r && !r.error && r.wall;
/** Median and min of n GPU-timestamp timings of run() (null where the adapter lacks 'timestamp-query'). */
async function gpuTimes(run, n) {
  const rt = L.gpuRuntime?.();
  if (!rt?.timeGpu) return null;
  const t = [];
  for (let i = 0; i < n; i++) {
    const ms = await rt.timeGpu(run);
    if (ms === null) return null;
    t.push(ms);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(t.length / 2)], min: t[0], n: t.length };
}
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const started = performance.now();

for (const { suite, cases } of casesBySuite) {
  const sres = { name: suite.name, title: suite.title, unit: suite.unit, description: suite.description, cases: [] };
  results.suites.push(sres);
  if (suite.run) {
    try {
      sres.custom = await suite.run({ lib: L, quick, log: (...a) => console.log(`${suite.name}:`, ...a) });
    } catch (e) {
      sres.error = e.message;
      failures.push(`${suite.name}: ${e.message}`);
      console.log(`${suite.name}: failed: ${e.stack ?? e.message}`);
    }
    continue;
  }
  for (const c of cases) {
    const rec = { name: c.name, flops: c.flops, bytes: c.bytes, roofline: c.roofline, shape: c.shape, results: {} };
    sres.cases.push(rec);
    const per = c.flops ? 'GFLOP/s' : 'GB/s';
    const impls = [];
    const disposers = [];
    let oursOut = null;
    try {
      const ours = await c.ours(L);
      disposers.push(() => ours.dispose?.());
      rec.plan = ours.plan ?? null;
      await ours.run();
      await L.sync();
      oursOut = ours.output ? await ours.output() : null;
      rec.results.ours = {}; // first in the record (and the log line)
      impls.push({ id: 'ours', run: ours.run, fence: () => L.sync() });
    } catch (e) {
      rec.results.ours = { error: e.message };
      failures.push(`${suite.name} / ${c.name}: ${e.message}`);
      for (const d of disposers) d();
      console.log(`${suite.name} / ${c.name}: ours failed: ${e.message}`);
      continue;
    }
    for (const id of neededPeers) {
      const make = c.peers?.[id];
      if (!make) continue;
      if (peers[id].error) {
        rec.results[id] = { error: peers[id].error };
        continue;
      }
      try {
        const P = PEERS[id];
        await P.activate?.();
        const impl = await make(peerCtx[id]);
        disposers.push(() => impl.dispose?.());
        await impl.run();
        await P.fence(impl.last?.());
        if (oursOut && impl.output) {
          const cmp = compareOutputs(oursOut, await impl.output(), c.tolerance ?? 1e-4);
          if (!cmp.ok) {
            rec.results[id] = { error: `output differs from ours: ${cmp.message}` };
            console.log(`${suite.name} / ${c.name}: ${id} output differs from ours, not timed: ${cmp.message}`);
            continue;
          }
          rec.results[id] = { maxRelDiff: cmp.maxRelDiff };
        }
        impls.push({ id, prepare: P.activate, run: impl.run, fence: () => P.fence(impl.last?.()) });
      } catch (e) {
        rec.results[id] = { error: e.message };
        console.log(`${suite.name} / ${c.name}: ${id} failed: ${e.message}`);
      }
    }
    // A case may learn its size when ours is built (the optimizer suite reads the model's shapes).
    Object.assign(rec, { flops: c.flops, bytes: c.bytes, shape: c.shape });
    const work = c.flops ?? c.bytes;
    const measured = await measure(impls, opts);
    for (const [id, m] of Object.entries(measured)) {
      rec.results[id] = { ...(rec.results[id] ?? {}), ...m, rate: work / m.wall.median / 1e6, cpuRate: work / m.cpu.median / 1e6 };
    }
    // Our kernels' execution time on the queue, from GPU timestamp queries where the adapter has them.
    if (timed(rec.results.ours)) rec.results.ours.gpu = await gpuTimes(impls[0].run, quick ? 2 : 5);
    for (const d of disposers) d();
    await L.sync();
    const line = Object.entries(rec.results)
      .map(([id, r]) => (r.error ? `${id}: error` : `${id} ${fmt(r.wall.median)} ms ${fmt(r.rate)} ${per} (±${fmt(r.wall.rme)}%)${r.gpu ? ` [GPU ${fmt(r.gpu.median)} ms]` : ''}`))
      .join(' | ');
    console.log(`${suite.name} / ${c.name}${rec.plan ? ` [${rec.plan}]` : ''}: ${line}`);
  }
}

results.machine.loadavgEnd = machineInfo().loadavg;
results.durationS = Math.round((performance.now() - started) / 100) / 10;
const slug = `${device.vendor}-${device.description.split(/[:\s]/)[0]}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'adapter';
const day = results.date.slice(0, 10);
const out =
  typeof args.out === 'string'
    ? args.out
    : // A run of some suites gets its own file (the report merges the newest result of each suite).
      join(here, 'results', ...(quick ? ['tmp'] : []), `${day}-${slug}${wanted ? `-${wanted.join('+')}` : ''}${quick ? '-quick' : ''}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(results, null, 1) + '\n');
console.log(`results: ${relative(process.cwd(), out)} (${results.durationS} s; load average ${results.machine.loadavgStart.join(' ')} → ${results.machine.loadavgEnd.join(' ')})`);

if (!quick && !args['no-report']) {
  const { writeReport } = await import('./report.mjs');
  const md = writeReport();
  console.log(`report: ${relative(process.cwd(), md)}`);
}
L.shutdown();
if (failures.length) {
  console.error(`${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
process.exit(0);
