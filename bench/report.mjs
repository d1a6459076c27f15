#!/usr/bin/env node
// Regenerates BENCHMARKS.md (and bench/results/benchmarks.svg / .png) from bench/results/*.json: for
// each adapter, the newest full-run result of every suite, merged across runs (a run of one suite
// does not hide the others' last results), or only the files given on the command line. One table
// per suite: our time and rate, % of the roofline measured in the same run as that suite, each
// peer's time and how many times faster we are (peer time / ours), and rows where a peer is faster
// flagged as behind. Files that are not runner results (other tools' JSON in the folder) are skipped.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEER_ORDER } from './peers/index.mjs';
import { ratioChart, svgToPng } from './lib/plot.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const f2 = (x) => (x == null || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${f2(x)} ms`);
const timed = (r) => r && !r.error && r.wall;

/**
 * What it would take, per suite, where a row is behind (shown only then). Hand-written from the
 * kernels' designs; the numbers themselves come from the results.
 */
const BEHIND_NOTES = {
  all:
    'On lavapipe the "GPU" is these same CPU cores running llvmpipe-compiled shaders: tfjs-wasm (XNNPACK, native SIMD, no Vulkan layer in between) is a CPU library on its home ground, and a row where it leads says more about the adapter than about the kernel. Rows behind the other GPU peers (same adapter) are the ones that point at our kernels.',
  elementwise:
    'Op by op, the gelu(x·a+b) chain writes and reads the tensor 3 times; fused with `fuse` it is one kernel (one read of each input, one write). The broadcast rows went from 0.33–0.36× to 0.84–1.0× tfjs-webgpu with the vec4 variant of wgsl/elementwise.wgsl (4 elements per invocation, vec4 loads of contiguous and row-broadcast operands); what is left is run-to-run noise and tfjs-webgpu handling more elements per invocation. tfjs-wasm leads (see the first point).',
  reductions:
    'Float sum / mean / max over contiguous rows go through the row kernel (subgroup reductions, vec4 loads); logsumexp over rows and every reduction over columns still go through wgsl/reduce.wgsl, one generic kernel for any axes, while jax-js generates a kernel per shape. What it would take: the row kernel for logsumexp (the online max + sum of softmax), and a column kernel that reads a band of columns with coalesced row loads.',
  layernorm: 'Forward: behind tfjs-wasm only (see the first point).',
  optimizer:
    'Our step copies every parameter and gradient into flat buffers and the parameters back (src/optim/optimizer.ts: 3 extra passes over 14 M parameters per step) and runs a guard pass (gradient norm, non-finite count) before the fused update; tfjs updates each tensor in place. What it would take: parameters that live in the flat buffer (tensors as views into it), so a step is the update kernel alone.',
  matmul:
    'Square sizes: behind tfjs-wasm only. On lavapipe a WGSL storage load is emulated per SIMD lane, so a GPU-style tiled kernel does not reach the CPU SIMD rate XNNPACK gets; only a real GPU, or a lavapipe-specific kernel shape with fewer, wider loads, changes that.',
  softmax: 'Behind tfjs-wasm only (see the first point).',
};

function readRuns(files) {
  const paths = files.length
    ? files
    : readdirSync(join(here, 'results'))
        .filter((f) => f.endsWith('.json'))
        .map((f) => join(here, 'results', f));
  const runs = [];
  for (const file of paths) {
    let data;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      console.warn(`${relative(root, file)}: not JSON (${e.message}); skipped`);
      continue;
    }
    if (!Array.isArray(data.suites) || !data.adapter?.description || !data.date) continue; // not a runner result
    if (data.quick && !files.length) continue;
    runs.push({ file, data });
  }
  return runs.sort((a, b) => a.data.date.localeCompare(b.data.date));
}

/** Per adapter: [{ suite, run }] with the newest run of each suite (one that did not fail, if any). */
function mergeBySuite(runs) {
  const byAdapter = new Map();
  for (const run of runs) {
    const key = run.data.adapter.description;
    if (!byAdapter.has(key)) byAdapter.set(key, new Map());
    const suites = byAdapter.get(key);
    for (const s of run.data.suites) {
      const prev = suites.get(s.name);
      const ok = !s.error && (s.custom?.length || s.cases?.some((c) => timed(c.results?.ours)));
      if (!prev || ok || !prev.ok) suites.set(s.name, { suite: s, run, ok });
    }
  }
  return [...byAdapter.entries()].map(([adapter, suites]) => ({ adapter, entries: [...suites.values()] }));
}

function roofline(data) {
  const s = data.suites.find((x) => x.name === 'roofline');
  const pick = (kind) => {
    // A ceiling is the best rate observed (fastest sample), not the median.
    const c = s?.cases.find((x) => x.roofline === kind);
    const o = c?.results?.ours;
    return o?.wall ? (c.flops ?? c.bytes) / o.wall.min / 1e6 : null;
  };
  return { flops: pick('flops'), bytes: pick('bytes') };
}

/** Peers faster than ours on a case: [{ peer, ratio }] (ratio = peer median / ours < 1). */
function behindOf(c) {
  const o = c.results.ours;
  if (!timed(o)) return [];
  return Object.entries(c.results)
    .filter(([id, r]) => id !== 'ours' && timed(r) && r.wall.median < o.wall.median)
    .map(([peer, r]) => ({ peer, ratio: r.wall.median / o.wall.median }));
}

function customTable(suite, run) {
  const lines = [`### ${suite.title ?? suite.name}`, '', `From ${runLink(run)}.`, ''];
  if (suite.error) lines.push(`**Failed**: ${suite.error}`, '');
  const rows = suite.custom ?? [];
  if (rows.length) {
    lines.push('| measurement | value | unit | note |', '|---|---|---|---|');
    for (const r of rows) lines.push(`| ${r.name} | ${typeof r.value === 'number' ? f2(r.value) : r.value} | ${r.unit ?? ''} | ${r.note ?? ''} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** The CPU behind a run (a software adapter's numbers depend on it): model and vector extensions where recorded. */
const cpuOf = (m) => `${m.cpu}${m.cpuFlags ? ` ${m.cpuFlags.includes('avx512f') ? 'AVX-512' : m.cpuFlags.includes('avx2') ? 'AVX2' : 'no AVX2'}` : ''}`;
const runLink = (run) => `[\`${relative(root, run.file)}\`](${relative(root, run.file)}) (${run.data.date.slice(0, 16).replace('T', ' ')} UTC, ${cpuOf(run.data.machine)}, load ${run.data.machine.loadavgStart[0]} → ${run.data.machine.loadavgEnd[0]})`;

function suiteTable(suite, run, behindRows) {
  if (!suite.cases?.length || suite.custom || suite.error) return customTable(suite, run);
  const roof = roofline(run.data);
  const peers = PEER_ORDER.filter((p) => suite.cases.some((c) => c.results[p]));
  const unit = suite.cases[0]?.flops ? 'GFLOP/s' : 'GB/s';
  const lines = [`### ${suite.title}`, '', suite.description, '', `From ${runLink(run)}${roof.flops || roof.bytes ? '; % of roofline from the roofline suite of that run' : '; that run had no roofline'}.`, ''];
  const head = ['case', 'kernel', `ours: median (±rme)`, `ours ${unit}`, '% of roofline', ...peers.map((p) => `${p}: median → ours ×faster`), 'vs peers'];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const c of suite.cases) {
    const o = c.results.ours;
    const ceiling = c.flops ? roof.flops : roof.bytes;
    const row = [c.name, c.plan ? `\`${c.plan}\`` : '–'];
    if (!timed(o)) row.push(`error: ${o?.error ?? 'not run'}`, '–', '–');
    else row.push(`${ms(o.wall.median)} (±${f2(o.wall.rme)}%)${o.gpu ? `; GPU ${ms(o.gpu.median)}` : ''}`, f2(o.rate), ceiling ? `${f2((o.rate / ceiling) * 100)}%` : '–');
    for (const p of peers) {
      const r = c.results[p];
      if (!r) row.push('–');
      else if (r.error) row.push(`not timed: ${r.error.slice(0, 120).replace(/\|/g, '/')}`);
      else if (!timed(o)) row.push(`${ms(r.wall.median)} (${f2(r.rate)} ${unit})`);
      else row.push(`${ms(r.wall.median)} (${f2(r.rate)} ${unit}) → **${f2(r.wall.median / o.wall.median)}×**`);
    }
    const behind = behindOf(c);
    if (behind.length) behindRows.push({ suite: suite.name, title: suite.title, case: c.name, behind });
    const anyPeer = peers.some((p) => timed(c.results[p]));
    row.push(!timed(o) ? '–' : behind.length ? `⚠ **behind** ${behind.map((b) => `${b.peer} (${f2(b.ratio)}×)`).join(', ')}` : anyPeer ? 'ahead of all' : '–');
    lines.push(`| ${row.join(' | ')} |`);
  }
  // Process CPU time per run: what each implementation costs the machine, robust to other load.
  const cpuHead = ['case', `ours ${unit.replace('/s', '')} per CPU-second`, ...peers];
  lines.push('', `<details><summary>Per CPU-second (process CPU time, all threads)</summary>`, '');
  lines.push(`| ${cpuHead.join(' | ')} |`, `|${cpuHead.map(() => '---').join('|')}|`);
  for (const c of suite.cases) {
    const o = c.results.ours;
    const row = [c.name, timed(o) ? `${f2(o.cpuRate)} (${ms(o.cpu.median)} CPU)` : '–'];
    for (const p of peers) {
      const r = c.results[p];
      row.push(timed(r) && r.cpu ? `${f2(r.cpuRate)} (${ms(r.cpu.median)} CPU)` : '–');
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  lines.push('', '</details>', '');
  return lines.join('\n');
}

function peerLines(entries) {
  // Versions as recorded by the runs the tables come from (newest first wins).
  const seen = new Map();
  for (const { run } of [...entries].reverse()) for (const [id, p] of Object.entries(run.data.peers ?? {})) if (!seen.has(id)) seen.set(id, p);
  return [...seen.entries()]
    .sort((a, b) => PEER_ORDER.indexOf(a[0]) - PEER_ORDER.indexOf(b[0]))
    .map(([id, p]) => {
      const extra = [
        p.core && `tfjs-core ${p.core}`,
        p.mode && `mode '${p.mode}'`,
        p.adapter && `adapter: ${p.adapter}`,
        p.simd !== undefined && `SIMD: ${p.simd ? 'yes' : 'no'}`,
        p.threads !== undefined && `threads: ${p.threads ? 'yes' : 'no'}`,
      ].filter(Boolean);
      return `- **${id}**: ${p.package ?? ''} ${p.version ?? ''}${extra.length ? ` (${extra.join(', ')})` : ''}${p.error ? ` — **${p.error}**` : ''}.`;
    });
}

function rooflineSection(run) {
  const s = run.data.suites.find((x) => x.name === 'roofline');
  if (!s) return '';
  const lines = ['### Roofline', '', `From ${runLink(run)} (each table's % of roofline uses the roofline of its own run).`, ''];
  lines.push('| kernel | median | best | ceiling (best) | per CPU-second |', '|---|---|---|---|---|');
  for (const c of s.cases) {
    const o = c.results.ours;
    const u = c.flops ? 'GFLOP/s' : 'GB/s';
    const w = c.flops ?? c.bytes;
    lines.push(`| ${c.name} | ${o?.wall ? ms(o.wall.median) : '–'} | ${o?.wall ? ms(o.wall.min) : '–'} | ${o?.wall ? `${f2(w / o.wall.min / 1e6)} ${u}` : '–'} | ${o?.cpu ? `${f2(w / o.cpu.median / 1e6)} ${u.replace('/s', '')}` : '–'} |`);
  }
  lines.push('', s.description, '');
  return lines.join('\n');
}

function figure(adapter, entries, slug) {
  const rows = [];
  for (const { suite } of entries) {
    for (const c of suite.cases ?? []) {
      const o = c.results?.ours;
      if (!timed(o)) continue;
      const ratios = {};
      for (const p of PEER_ORDER) if (timed(c.results[p])) ratios[p] = c.results[p].wall.median / o.wall.median;
      if (Object.keys(ratios).length) rows.push({ label: `${suite.name}: ${c.name}`.slice(0, 60), ratios });
    }
  }
  if (!rows.length) return null;
  const peers = PEER_ORDER.filter((p) => rows.some((r) => p in r.ratios));
  const svg = ratioChart({ title: `How many times faster than each peer — ${adapter}`.slice(0, 110), rows, peers });
  const base = join(here, 'results', `benchmarks-${slug}`);
  writeFileSync(`${base}.svg`, svg);
  const png = svgToPng(svg, join(root, 'package.json'));
  if (png) writeFileSync(`${base}.png`, png);
  return { svg: `${base}.svg`, png: png ? `${base}.png` : null };
}

function adapterSection({ adapter, entries }) {
  const newest = entries.map((e) => e.run).sort((a, b) => a.data.date.localeCompare(b.data.date)).at(-1);
  const d = newest.data;
  const m = d.machine;
  const slug = adapter.split(/[:\s]/)[0].toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'adapter';
  const lines = [`## ${adapter}`, ''];
  const files = [...new Set(entries.map((e) => e.run))];
  lines.push(`Results merged from ${files.length} run${files.length > 1 ? 's' : ''} (the newest of each suite): ${files.map(runLink).join('; ')}.`, '');
  const flags = m.cpuFlags ? ` (${m.cpuFlags.includes('avx512f') ? 'AVX-512' : m.cpuFlags.includes('avx2') ? 'AVX2, no AVX-512' : 'no AVX2'}; flags ${m.cpuFlags.join(' ') || 'none'})` : ' (vector extensions not recorded in this run)';
  lines.push(`- **Machine**: ${m.cpu}${flags}, ${m.cores} cores, ${m.memGiB} GiB; ${m.os}; Node ${m.node}.`);
  lines.push(
    `- **Load average** (1 min) at the start of the runs: ${files.map((r) => r.data.machine.loadavgStart[0]).join(', ')}` +
      (files.some((r) => r.data.machine.loadavgStart[0] > m.cores) ? ' — the machine was shared with other work: absolute times are inflated, the same-run ratios are what to read.' : '.'),
  );
  lines.push(`- **Adapter**: ${d.adapter.backend} (${d.adapter.featureLevel}) — ${[d.adapter.vendor, d.adapter.architecture, d.adapter.description].filter(Boolean).join(' · ')}; features: ${d.adapter.features.join(', ')}.`);
  if (Object.keys(d.env ?? {}).length) lines.push(`- **Environment**: ${Object.entries(d.env).map(([k, v]) => `${k}=${v}`).join(', ')}.`);
  lines.push('- **Peers** (versions as recorded in the results; every GPU peer ran on Dawn through the same `webgpu` package and adapter as ours):', ...peerLines(entries).map((l) => `  ${l}`));
  lines.push(
    `- **Method**: interleaved samples (each implementation takes one sample per round), each sample ${d.options.sampleMs} ms or one run, ` +
      `until the 95% margin of error of the mean is ≤ ${d.options.targetRme}% or ${d.options.budgetMs / 1000} s per implementation ` +
      `(at least ${d.options.minSamples} samples); medians shown. GPU work is timed to completion (our \`sync()\`, tfjs-webgpu's and gpu.js's queue drained, jax-js's \`blockUntilReady\` after every run — it is lazy). ` +
      `Where the adapter has 'timestamp-query', "GPU" after our median is the median of five timings of the queue's execution alone (timestamp queries around the recorded work; wall time also counts recording and submitting). ` +
      `Every peer's output was checked against ours before its timing counted. "×faster" = peer median / our median, same run; **behind** marks a row where a peer's median is lower than ours.`,
  );
  lines.push('');
  const fig = figure(adapter, entries, slug);
  if (fig) lines.push(`![peer time / our time per row](${relative(root, fig.png ?? fig.svg)})`, '', `Figure: [SVG](${relative(root, fig.svg)})${fig.png ? `, [PNG](${relative(root, fig.png)})` : ''}.`, '');
  const roofEntry = entries.find((e) => e.suite.name === 'roofline');
  if (roofEntry) lines.push(rooflineSection(roofEntry.run));
  const behindRows = [];
  for (const { suite, run } of entries) if (suite.name !== 'roofline') lines.push(suiteTable(suite, run, behindRows));
  lines.push('### Where we are behind', '');
  if (!behindRows.length) lines.push('Ahead of every peer on every row where the peer has the operation.', '');
  else {
    lines.push(`${behindRows.length} row${behindRows.length > 1 ? 's' : ''} where a peer is faster (peer time / ours below 1):`, '');
    for (const r of behindRows) lines.push(`- ${r.suite} / ${r.case}: ${r.behind.map((b) => `${b.peer} ${f2(b.ratio)}×`).join(', ')}`);
    lines.push('', '**Why, and what it would take:**', '', `- ${BEHIND_NOTES.all}`);
    for (const s of [...new Set(behindRows.map((r) => r.suite))]) if (BEHIND_NOTES[s]) lines.push(`- **${s}**: ${BEHIND_NOTES[s]}`);
    lines.push('');
  }
  return lines.join('\n');
}

export function writeReport(files = []) {
  const merged = mergeBySuite(readRuns(files));
  const order = (name) => (name === 'roofline' ? -1 : 0);
  for (const m of merged) m.entries.sort((a, b) => order(a.suite.name) - order(b.suite.name) || a.suite.name.localeCompare(b.suite.name));
  const out = [
    '# Benchmarks',
    '',
    '<!-- Generated by `node bench/report.mjs` from bench/results/*.json; edit the generator, not this file. -->',
    '',
    'Run `npm run bench` (builds `dist/`, runs every suite, writes `bench/results/<date>-<adapter>.json` and regenerates this file), ' +
      '`npm run bench -- --quick` for the CI smoke subset, `--suite=matmul` for one suite (its table here is then replaced, the others kept). A suite is one file in `bench/suites/`, a peer one in `bench/peers/`.',
    '',
    ...merged.map(adapterSection),
  ].join('\n');
  const path = join(root, 'BENCHMARKS.md');
  writeFileSync(path, out.replace(/\n{3,}/g, '\n\n') + '\n');
  return path;
}

if (process.argv[1] && basename(process.argv[1]) === 'report.mjs') {
  const path = writeReport(process.argv.slice(2));
  console.log(`wrote ${relative(process.cwd(), path)}`);
}
