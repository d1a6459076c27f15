// `dualalign ablate` on a tiny synthetic set: every Table 6 variant is trained and lands in the
// table, the json and the plot; `--seeds` gives mean ± std; `--select test` is labelled. Tiny model,
// one epoch: this checks the machinery, not the numbers (the README reports a real run).
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { ablationVariants } from '../../src/train/ablation.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

const work = mkdtempSync(join(tmpdir(), 'dualalign-ablate-'));
const TINY = ['--d1', '16', '--d2', '8', '--d3', '8', '--heads', '2', '--gcn', '4', '--epochs', '1', '--batch-size', '8', '--preset', 'reference-code', '--lr', '2e-3'];
// Action 01 at 0.15 of Table 2's count: 18 samples (10 to fit, 2 validation, 6 test).
const DATA = ['--synthetic', '--actions', '01', '--scale', '0.15', '--frames-per-clip', '1', '--image-frames', '4'];

describe('dualalign ablate', () => {
  it('runs every Table 6 variant on a tiny set over two seeds: table, json and plot', { timeout: 900_000 }, async () => {
    const out = join(work, 'all');
    const r = await run(['ablate', ...DATA, ...TINY, '--seeds', '2', '--out', out, '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { rows: Array<{ variant: string; srcc: number[]; accuracy: number[]; relativeMSE: number[] }>; seeds: number[]; select: string };
    const modalities = ['video', 'flow', 'skeleton', 'image', 'text'];
    const names = ablationVariants(modalities).map((v) => v.name);
    expect(names).toEqual(['full', 'no-alignment', 'cosine', 'one-stage-gram', 'vfs-only', 'vit-only', ...modalities.map((m) => `without-${m}`)]);
    expect(res.rows.map((x) => x.variant)).toEqual(names);
    expect(res.seeds).toEqual([0, 1]);
    expect(res.select).toBe('validation');
    for (const row of res.rows) {
      expect(row.srcc, row.variant).toHaveLength(2);
      for (const v of [...row.srcc, ...row.accuracy, ...row.relativeMSE]) expect(Number.isFinite(v), row.variant).toBe(true);
    }
    for (const f of ['ablation.json', 'ablation.md', 'plots/ablation.svg', 'plots/ablation.png']) expect(existsSync(join(out, f)), f).toBe(true);
    const md = readFileSync(join(out, 'ablation.md'), 'utf8');
    expect(md).toContain('| w/o skeleton |');
    expect(md).toContain('| cosine instead of GRAM |');
    expect(md).toMatch(/\| two-stage GRAM \(full model\) \| [-\d.]+ ± [\d.]+ \|/);
    expect(md).toContain('85.44'); // the paper's Table 6 value beside ours
    expect(md).toContain('validation split');
    // Each variant's model really differs: the removed modality is gone from its description.
    const cfg = JSON.parse(readFileSync(join(out, 'variants', 'without-flow', 'seed-0', 'config.json'), 'utf8')) as { modelOverrides: { removeModalities: string[] } };
    expect(cfg.modelOverrides.removeModalities).toEqual(['flow']);
  });

  it('--variants picks variants (Fig. 9 ones too), rejects unknown names, and --select test is labelled', { timeout: 300_000 }, async () => {
    const bad = await run(['ablate', ...DATA, ...TINY, '--variants', 'full,bogus', '--out', join(work, 'bad'), '--quiet']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown ablation variant 'bogus'");
    const out = join(work, 'some');
    const r = await run(['ablate', ...DATA, ...TINY, '--variants', 'full,fusion-concat', '--select', 'test', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('| 1s concatenation |');
    expect(readFileSync(join(out, 'ablation.md'), 'utf8')).toContain('TEST split');
  });
});
