// The `dualalign` CLI: exit codes, --json shapes, and error messages that say what to fix.
// Most cases call main() in-process (fast); a few run the built dist/cli.js as a child process.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

const root = resolve(__dirname, '../..');

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

const work = mkdtempSync(join(tmpdir(), 'dualalign-cli-'));
const data = join(work, 'synth');
const runDir = join(work, 'run');
// Two actions, 8 samples each, short sequences: the data of every case below.
const SYNTH = ['synth', '--out', data, '--actions', '01,02', '--samples-per-action', '10', '--frames-per-clip', '1', '--image-frames', '8', '--seed', '1'];
const TRAIN = ['train', '--data', data, '--model', 'mlp', '--epochs', '2', '--batch-size', '4', '--out', runDir, '--quiet', '--no-plots'];

describe('dualalign CLI', () => {
  beforeAll(async () => {
    const r = await run(SYNTH);
    expect(r.code).toBe(0);
  });

  it('prints help and rejects unknown commands and options with exit code 2', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Commands:');
    for (const cmd of ['synth', 'train', 'eval', 'predict', 'robustness', 'info', 'bench', 'demo']) {
      const r = await run([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toContain(`Usage: dualalign ${cmd}`);
    }
    const unknown = await run(['trian']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'trian'");
    const badFlag = await run(['train', '--epocs', '3']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--epocs');
    const badNumber = await run(['train', '--synthetic', '--epochs', 'many']);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toContain('--epochs must be an integer');
  });

  it('a missing data folder: exit 3 and how to fix it', async () => {
    const r = await run(['train', '--data', join(work, 'nope'), '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('data folder not found');
    expect(r.stderr).toContain('dualalign synth --out');
    expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 3, error: expect.stringContaining('data folder not found'), hint: expect.any(String) });
  });

  it('an unknown action: exit 2 naming the actions the data has', async () => {
    const r = await run(['train', '--data', data, '--actions', '07', '--model', 'mlp', '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown action '07'");
    expect(r.stderr).toContain('01 (Head Lift)');
  });

  it('a corrupt feature file: exit 3 naming the file', async () => {
    const broken = join(work, 'broken');
    execFileSync('cp', ['-r', data, broken]);
    const victim = join(broken, 'video', readdirSync(join(broken, 'video'))[0]!);
    writeFileSync(victim, readFileSync(victim).subarray(0, 100)); // truncated
    const r = await run(['train', '--data', broken, '--model', 'mlp', '--quiet']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(victim.split('/').pop()!);
    expect(r.stderr).toContain('fix:');
    rmSync(broken, { recursive: true, force: true });
  });

  it('a missing modality file: the sample is kept (masked), the load summary says so, progress shows an ETA', async () => {
    const gappy = join(work, 'gappy');
    execFileSync('cp', ['-r', data, gappy]);
    rmSync(join(gappy, 'flow', readdirSync(join(gappy, 'flow'))[0]!));
    const r = await run(['train', '--data', gappy, '--actions', '01', '--model', 'mlp', '--epochs', '1', '--out', join(work, 'gappy-run'), '--no-plots', '--no-baselines']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('20 samples (01: 10, 02: 10)');
    expect(r.stderr).toContain('samples without a modality (masked, not dropped): flow 1');
    expect(r.stderr).toMatch(/epoch 1\/1 .*ETA/);
    rmSync(gappy, { recursive: true, force: true });
  });

  it('train --json, then eval and predict on its checkpoints', async () => {
    const r = await run([...TRAIN, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ runDir, average: { srcc: expect.any(Number), relativeMSE: expect.any(Number), accuracy: expect.any(Number) } });
    expect(out.actions.map((a: { id: string }) => a.id)).toEqual(['01', '02']);
    expect(Object.keys(out.actions[0]).sort()).toEqual(
      ['accuracy', 'alpha', 'baselines', 'bestEpoch', 'checkpoint', 'id', 'n', 'name', 'relativeMSE', 'srcc', 'srccDefined', 'srccScore', 'testSize', 'trainSize'].sort(),
    );
    for (const f of ['config.json', 'metrics.json', 'table.md', 'checkpoints/01/best.ckpt', 'checkpoints/01/last.ckpt', 'checkpoints/02/best.ckpt']) expect(existsSync(join(runDir, f)), f).toBe(true);
    expect(readFileSync(join(runDir, 'table.md'), 'utf8')).toContain('| SRCC (×100) ↑ | Pooled MLP |');

    const ev = await run(['eval', '--run', runDir, '--data', data, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const evOut = JSON.parse(ev.stdout);
    expect(evOut.actions[0].srcc).toBeCloseTo(out.actions[0].srcc, 6);

    const id = readFileSync(join(data, 'manifest.csv'), 'utf8').split('\n')[1]!.split(',')[0]!;
    const p = await run(['predict', '--checkpoint', join(runDir, 'checkpoints/01/best.ckpt'), '--data', data, '--id', id, '--json']);
    expect(p.code, p.stderr).toBe(0);
    const pred = JSON.parse(p.stdout);
    expect(pred).toMatchObject({ id, action: '01', grade: expect.any(Number), modalitiesMissing: [] });
    expect([...pred.modalitiesPresent].sort()).toEqual(['flow', 'image', 'skeleton', 'text', 'video']);
    const probs = Object.values(pred.probabilities) as number[];
    expect(probs).toHaveLength(6);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);

    // One sample's feature files, text missing.
    const sampleDir = join(work, 'sample');
    execFileSync('mkdir', ['-p', sampleDir]);
    for (const m of ['video', 'flow', 'skeleton', 'image']) execFileSync('cp', [join(data, m, `${id}.npy`), join(sampleDir, `${m}.npy`)]);
    const p2 = await run(['predict', '--checkpoint', join(runDir, 'checkpoints/01/best.ckpt'), '--sample', sampleDir]);
    expect(p2.code, p2.stderr).toBe(0);
    expect(p2.stdout).toContain('probability of each grade');
    expect(p2.stdout).toContain('missing (placeholders): text');
  });

  it('robustness: missing modalities from a run (Fig. 14) and missing labels (Fig. 15) give a table and a plot', async () => {
    const m = await run(['robustness', '--mode', 'modality', '--from', runDir, '--data', data, '--rates', '0,0.5', '--repeats', '1', '--json', '--quiet']);
    expect(m.code, m.stderr).toBe(0);
    const mod = JSON.parse(m.stdout);
    expect(mod).toMatchObject({ kind: 'missing-modality', rates: [0, 0.5], dropped: ['flow', 'image', 'skeleton', 'text'] });
    expect(mod.points[1].perAction['01']).toMatchObject({ srcc: expect.any(Number), accuracy: expect.any(Number), relativeMSE: expect.any(Number) });
    for (const f of ['robustness-modality.json', 'robustness-modality.md', 'plots/robustness-modality.svg', 'plots/robustness-modality.png']) expect(existsSync(join(runDir, f)), f).toBe(true);
    const labelDir = join(work, 'labels');
    const l = await run(['robustness', '--mode', 'label', '--data', data, '--model', 'mlp', '--epochs', '1', '--rates', '0,0.5', '--out', labelDir, '--quiet']);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stdout).toContain('Missing labels in training (Fig. 15)');
    expect(existsSync(join(labelDir, 'plots/robustness-label.png'))).toBe(true);
    const bad = await run(['robustness', '--data', data]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--mode modality or --mode label');
  });

  it('demo runs end to end (pooled MLP, one action, one epoch)', async () => {
    const out = join(work, 'demo');
    const r = await run(['demo', '--model', 'mlp', '--epochs', '1', '--actions', '1', '--scale', '0.3', '--out', out, '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.actions).toHaveLength(1);
    expect(res.demo).toMatchObject({ full: false, epochs: 1 });
    expect(existsSync(join(out, 'plots/training-curves.png'))).toBe(true);
  });

  it('--seeds: mean ± std per method and the time of each seed; --select test is labelled; ablate --help', async () => {
    const out = join(work, 'seeds');
    const r = await run(['train', '--data', data, '--actions', '01', '--model', 'mlp', '--epochs', '1', '--batch-size', '4', '--seeds', '2', '--baselines', 'constant,ridge', '--out', out, '--quiet', '--no-plots']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('mean ± std over 2 seeds (0, 1)');
    expect(r.stdout).toMatch(/\| SRCC \(×100\) ↑ \| Pooled MLP \| [-\d.]+ ± [\d.]+ \|/);
    expect(r.stdout).toMatch(/\| Acc\. \(%\) ↑ \| Ridge \(mean\+std\) \| [\d.]+ ± [\d.]+ \|/);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.perSeed.map((p: { seed: number }) => p.seed)).toEqual([0, 1]);
    expect(metrics.secondsPerSeed).toHaveLength(2);
    expect(metrics.select).toBe('validation');
    for (const s of [0, 1]) expect(existsSync(join(out, `seed-${s}`, 'table.md'))).toBe(true);

    const paper = join(work, 'paper-protocol');
    const t = await run(['train', '--data', data, '--actions', '01', '--model', 'mlp', '--epochs', '1', '--batch-size', '4', '--select', 'test', '--no-baselines', '--out', paper, '--quiet', '--no-plots']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain("Selected on the test split (the paper's protocol");
    expect(JSON.parse(readFileSync(join(paper, 'metrics.json'), 'utf8')).select).toBe('test');
    const bad = await run(['train', '--data', data, '--select', 'best']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown --select 'best'");
    // Cross-validation over seeds: the same mean ± std table, the baselines on the same folds.
    const cv = await run(['train', '--data', data, '--actions', '01', '--model', 'mlp', '--epochs', '1', '--batch-size', '4', '--folds', '2', '--seeds', '2', '--baselines', 'constant,ridge', '--out', join(work, 'cv-seeds'), '--quiet']);
    expect(cv.code, cv.stderr).toBe(0);
    expect(cv.stdout).toContain('mean ± std over 2 seeds (0, 1)');
    expect(cv.stdout).toMatch(/\| SRCC \(×100\) ↑ \| Ridge \(mean\+std\) \| [-\d.]+ ± [\d.]+ \|/);
    const help = await run(['ablate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: dualalign ablate');
  });

  it('a corrupt or missing checkpoint: exit 3', async () => {
    const bad = join(work, 'bad.ckpt');
    writeFileSync(bad, 'this is not a checkpoint at all');
    const r = await run(['predict', '--checkpoint', bad, '--sample', data]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('could not load checkpoint');
    const missing = await run(['predict', '--checkpoint', join(work, 'none.ckpt'), '--sample', data]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('checkpoint not found');
  });

  it('the built dist/cli.js: exit codes and --json from a real process', () => {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root });
    const cli = join(root, 'dist/cli.js');
    const env = { ...process.env };
    const info = spawnSync(process.execPath, [cli, 'info', '--json'], { env, encoding: 'utf8' });
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ backend: expect.any(String), limits: expect.any(Object) });
    const missing = spawnSync(process.execPath, [cli, 'eval', '--run', join(work, 'none'), '--data', data], { env, encoding: 'utf8' });
    expect(missing.status).toBe(3);
    expect(missing.stderr).toContain('results folder not found');
    const usage = spawnSync(process.execPath, [cli], { env, encoding: 'utf8' });
    expect(usage.status).toBe(2);
  });
});
