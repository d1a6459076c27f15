#!/usr/bin/env node
// Regenerates BENCHMARKS.md from bench/results/*.json: the newest full run per adapter (or the files
// given on the command line). One table per suite: our time and rate (and % of the roofline measured
// in the same run), each peer's time and rate, and how many times faster we are (peer time / ours).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const PEER_ORDER = ['tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'];

const f2 = (x) => (x == null || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${f2(x)} ms`);

function latestRuns(files) {
  if (files.length) return files.map((f) => ({ file: f, data: JSON.parse(readFileSync(f, 'utf8')) }));
  const dir = join(here, 'results');
  const runs = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: join(dir, f), data: JSON.parse(readFileSync(join(dir, f), 'utf8')) }))
    .filter((r) => !r.data.quick);
  const byAdapter = new Map();
  for (const r of runs.sort((a, b) => a.data.date.localeCompare(b.data.date))) byAdapter.set(r.data.adapter.description, r);
  return [...byAdapter.values()];
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

function customTable(suite) {
  const lines = [`### ${suite.title ?? suite.name}`, ''];
  if (suite.error) lines.push(`Failed: ${suite.error}`, '');
  const rows = suite.custom ?? [];
  if (rows.length) {
    lines.push('| measurement | value | unit | note |', '|---|---|---|---|');
    for (const r of rows) lines.push(`| ${r.name} | ${typeof r.value === 'number' ? f2(r.value) : r.value} | ${r.unit ?? ''} | ${r.note ?? ''} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function suiteTable(suite, roof) {
  if (!suite.cases?.length || suite.custom || suite.error) return customTable(suite);
  const peers = PEER_ORDER.filter((p) => suite.cases.some((c) => c.results[p]));
  const unit = suite.cases[0]?.flops ? 'GFLOP/s' : 'GB/s';
  const lines = [];
  lines.push(`### ${suite.title}`, '', suite.description, '');
  const head = ['case', 'kernel', `ours: median (±rme)`, `ours ${unit}`, '% of roofline', ...peers.map((p) => `${p}: median → ours ×faster`)];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const c of suite.cases) {
    const o = c.results.ours;
    const ceiling = c.flops ? roof.flops : roof.bytes;
    const row = [c.name, c.plan ? `\`${c.plan}\`` : '–'];
    if (!o || o.error) row.push(`error: ${o?.error ?? 'not run'}`, '–', '–');
    else row.push(`${ms(o.wall.median)} (±${f2(o.wall.rme)}%)`, f2(o.rate), ceiling ? `${f2((o.rate / ceiling) * 100)}%` : '–');
    for (const p of peers) {
      const r = c.results[p];
      if (!r) row.push('–');
      else if (r.error) row.push(`not timed: ${r.error.slice(0, 120)}`);
      else row.push(`${ms(r.wall.median)} (${f2(r.rate)} ${unit}) → **${f2(r.wall.median / o.wall.median)}×**`);
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  // Process CPU time per run: what each implementation costs the machine, robust to other load.
  const cpuHead = ['case', `ours ${unit.replace('/s', '')} per CPU-second`, ...peers.map((p) => `${p}`)];
  lines.push('', `<details><summary>Per CPU-second (process CPU time, all threads)</summary>`, '');
  lines.push(`| ${cpuHead.join(' | ')} |`, `|${cpuHead.map(() => '---').join('|')}|`);
  for (const c of suite.cases) {
    const o = c.results.ours;
    const row = [c.name, o && !o.error ? `${f2(o.cpuRate)} (${ms(o.cpu.median)} CPU)` : '–'];
    for (const p of peers) {
      const r = c.results[p];
      row.push(r && !r.error && r.cpu ? `${f2(r.cpuRate)} (${ms(r.cpu.median)} CPU)` : '–');
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  lines.push('', '</details>', '');
  return lines.join('\n');
}

function runSection(run) {
  const d = run.data;
  const roof = roofline(d);
  const lines = [];
  const m = d.machine;
  lines.push(`## ${d.adapter.description} — ${d.date.slice(0, 10)}`, '');
  lines.push(`Results: [\`${relative(root, run.file)}\`](${relative(root, run.file)}) (${d.durationS} s).`, '');
  lines.push(`- **Machine**: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB; ${m.os}; Node ${m.node}.`);
  lines.push(
    `- **Load average** (1/5/15 min) at start ${m.loadavgStart.join(' / ')}, at end ${m.loadavgEnd.join(' / ')}` +
      (m.loadavgStart[0] > m.cores ? ' — the machine was shared with other work: absolute times are inflated, the same-run ratios are what to read.' : '.'),
  );
  lines.push(`- **Adapter**: ${d.adapter.backend} (${d.adapter.featureLevel}) — ${[d.adapter.vendor, d.adapter.architecture, d.adapter.description].filter(Boolean).join(' · ')}; features: ${d.adapter.features.join(', ')}.`);
  if (Object.keys(d.env ?? {}).length) lines.push(`- **Environment**: ${Object.entries(d.env).map(([k, v]) => `${k}=${v}`).join(', ')}.`);
  for (const [id, p] of Object.entries(d.peers)) {
    const extra = [p.adapter && `adapter: ${p.adapter}`, p.simd !== undefined && `SIMD: ${p.simd ? 'yes' : 'no'}`, p.threads !== undefined && `threads: ${p.threads ? 'yes' : 'no'}`]
      .filter(Boolean)
      .join(', ');
    lines.push(`- **${id}** ${p.version ?? ''} (tfjs-core ${p.core ?? '?'})${extra ? `: ${extra}` : ''}${p.error ? ` — ${p.error}` : ''}.`);
  }
  lines.push(
    `- **Method**: interleaved samples (each implementation takes one sample per round), each sample ${d.options.sampleMs} ms or one run, ` +
      `until the 95% margin of error of the mean is ≤ ${d.options.targetRme}% or ${d.options.budgetMs / 1000} s per implementation ` +
      `(at least ${d.options.minSamples} samples); medians shown. GPU work is timed to completion (our \`sync()\`, tfjs-webgpu's queue drained). ` +
      `Every peer's output was checked against ours before its timing counted. "×faster" = peer median / our median, same run.`,
  );
  lines.push('');
  if (roof.flops || roof.bytes) {
    lines.push('### Roofline (same run)', '');
    lines.push('| kernel | median | best | ceiling (best) | per CPU-second |', '|---|---|---|---|---|');
    const s = d.suites.find((x) => x.name === 'roofline');
    for (const c of s.cases) {
      const o = c.results.ours;
      const u = c.flops ? 'GFLOP/s' : 'GB/s';
      const w = c.flops ?? c.bytes;
      lines.push(
        `| ${c.name} | ${o?.wall ? ms(o.wall.median) : '–'} | ${o?.wall ? ms(o.wall.min) : '–'} | ${o?.wall ? `${f2(w / o.wall.min / 1e6)} ${u}` : '–'} | ${o?.cpu ? `${f2(w / o.cpu.median / 1e6)} ${u.replace('/s', '')}` : '–'} |`,
      );
    }
    lines.push('', s.description, '');
  }
  for (const s of d.suites) if (s.name !== 'roofline') lines.push(suiteTable(s, roof));
  return lines.join('\n');
}

export function writeReport(files = []) {
  const runs = latestRuns(files);
  const out = [
    '# Benchmarks',
    '',
    '<!-- Generated by `node bench/report.mjs` from bench/results/*.json; edit the generator, not this file. -->',
    '',
    'Run `npm run bench` (builds `dist/`, runs every suite, writes `bench/results/<date>-<adapter>.json` and regenerates this file), ' +
      '`npm run bench -- --quick` for the CI smoke subset, `--suite=matmul` for one suite. A suite is one file in `bench/suites/`.',
    '',
    ...runs.map(runSection),
  ].join('\n');
  const path = join(root, 'BENCHMARKS.md');
  writeFileSync(path, out.replace(/\n{3,}/g, '\n\n') + '\n');
  return path;
}

if (process.argv[1] && basename(process.argv[1]) === 'report.mjs') {
  const path = writeReport(process.argv.slice(2));
  console.log(`wrote ${relative(process.cwd(), path)}`);
}
