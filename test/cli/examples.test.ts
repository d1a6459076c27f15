// The examples/ scripts run end to end against the built package (dist/), with the smallest budgets
// their options allow: synthetic MM-JDM -> results folder, a checkpoint -> one prediction, the
// missing-modality table from that run, and UI-PRMD cross-validation (which prints a skip message
// and exits 0 where the data is absent).
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'dualalign-examples-'));
const synthRun = join(work, 'synthetic');

function example(name: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'examples', name), ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('examples/', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root });
  });

  it('synthetic-mmjdm.mjs trains and writes the per-action table', () => {
    const r = example('synthetic-mmjdm.mjs', ['--actions', '1', '--epochs', '1', '--out', synthRun]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('| SRCC (×100) ↑ |');
    for (const f of ['table.md', 'metrics.json', 'config.json', 'checkpoints/01/best.ckpt']) expect(existsSync(join(synthRun, f)), f).toBe(true);
  });

  it('predict-checkpoint.mjs grades one sample from that checkpoint, with a modality dropped', () => {
    const r = example('predict-checkpoint.mjs', ['--checkpoint', join(synthRun, 'checkpoints/01/best.ckpt'), '--drop', 'text']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/predicted grade \d+ \(true \d+\)/);
    expect(r.stdout).toMatch(/probabilities: grade 0: [\d.]+%/);
    expect(r.stdout).toMatch(/modalities present: .*"text":\s*false/);
  });

  it('missing-modality.mjs evaluates that run at the paper rates', () => {
    const r = example('missing-modality.mjs', ['--from', synthRun, '--actions', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/average SRCC×100 by rate: 0: [-\d.]+, 0\.1: .*0\.9: /);
    expect(existsSync(join(synthRun, 'plots/robustness-modality.png'))).toBe(true);
  });

  it('uiprmd.mjs: subject-wise cross-validation, or a skip message without the data', () => {
    const out = join(work, 'uiprmd');
    const r = example('uiprmd.mjs', ['--exercises', 'm01', '--folds', '2', '--epochs', '1', '--frames', '20', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    if (r.stdout.includes('Skipping')) console.log(r.stdout.trim());
    else {
      // Constant, ridge (mean+std), pooled MLP, DualAlign: accuracy mean ± std across folds (the constant: 50 %, balanced classes).
      expect(r.stdout).toMatch(/\| m01 [^|]*\| 50\.0 ± 0\.0 \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \| [\d.]+ ± [\d.]+ \|/);
      for (const f of ['table.md', 'metrics.json']) expect(existsSync(join(out, f)), f).toBe(true);
    }
  });
});
