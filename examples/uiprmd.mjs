// UI-PRMD (Vakanski et al. 2018) with a skeleton-only DualAlign: joint positions are the anchor
// stream, joint angles the second stage-1 stream, the exercise description the text; no video,
// flow or CLIP image. Each exercise is its own model (correct = grade 1, incorrect = 0), scored by
// subject-wise k-fold cross-validation (no subject on both sides) next to baselines on the same
// folds: the constant (most frequent training grade), ridge on the mean and standard deviation
// over time of positions and angles, and the pooled MLP.
//
// Protocol: every model trains for a fixed number of epochs and keeps its last one; a test fold is
// predicted once and chooses nothing (--protocol best-test gives the paper's best-test-epoch
// protocol, optimistic, and the table says so). The settings below were chosen on m01 (and one
// fold of m05) by 5-fold subject-wise cross-validation; examples/README.md says how, and gives the results.
//
// Data: ../shared/data/ui-prmd relative to the repository (or $DUALALIGN_UIPRMD_DIR); skipped with a
// message when absent. Run from the repository root:
//   node scripts/build.mjs && node examples/uiprmd.mjs [--exercises m01,m07|all] [--folds 10] [--out runs/uiprmd]
// Writes <out>/table.md (accuracy and SRCC, mean ± std across folds) and <out>/metrics.json (per
// fold, per method, and the seconds each exercise took).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { init, isUIPRMDAvailable, defaultUIPRMDDir, loadUIPRMD, crossValidate, crossValidationTable, dualAlignKit, shutdown } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    exercises: { type: 'string', default: 'all' },
    folds: { type: 'string', default: '10' },
    epochs: { type: 'string', default: '12' },
    frames: { type: 'string', default: '16' },
    protocol: { type: 'string', default: 'fixed' },
    baselines: { type: 'string', default: 'constant,ridge,mlp' },
    backend: { type: 'string', default: 'webgpu' },
    out: { type: 'string', default: 'runs/uiprmd' },
  },
});
if (!['fixed', 'best-test'].includes(values.protocol)) throw new Error(`--protocol must be fixed or best-test, got '${values.protocol}'`);

const dir = defaultUIPRMDDir();
if (!isUIPRMDAvailable(dir)) {
  console.log(`UI-PRMD not found at ${dir} (expects correct/positions and incorrect/positions); set DUALALIGN_UIPRMD_DIR to its folder. Skipping.`);
  process.exit(0);
}
await init(values.backend === 'cpu' ? { backend: 'cpu' } : {});
const exercises = values.exercises === 'all' ? undefined : values.exercises.split(',');
const dataset = loadUIPRMD(dir, { exercises, maxFramesResample: Number(values.frames) });
console.log(`UI-PRMD: ${dataset.samples.length} repetitions of ${dataset.actions.map((a) => `${a.id} ${a.name}`).join(', ')}; modalities ${dataset.modalities.join(', ')}`);

// DualAlign, skeleton-only (skeletonOnlyConfig via the kit): see examples/README.md for the choices.
const MODEL = { d1: 64, d2: 32, d3: 32, heads: 4, gcnChannels: [16], clips: 8, logitScale: 10, dropout: 0.5, lambda1: 0.1, lambda2: 0.1 };
const TRAIN = { batchSize: 32, preset: 'recipe', lr: 2e-3 };
const folds = Number(values.folds);
const epochs = Number(values.epochs);
const results = [];
const started = performance.now();
const cpuStart = process.cpuUsage();
mkdirSync(values.out, { recursive: true });
for (const action of dataset.actions) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = await crossValidate({
    kit: dualAlignKit, dataset, action: action.id, folds, epochs, seed: 0, ...TRAIN, modelOverrides: MODEL,
    select: values.protocol === 'best-test' ? 'test' : 'last',
    baselines: values.baselines ? values.baselines.split(',') : [],
    ridgeModalities: ['positions', 'angles'],
    mlp: { epochs, lr: 1e-3 },
    onFold: (fold, subjects) => process.stdout.write(`[${action.id}] fold ${fold + 1}/${folds} (test ${subjects.join(', ')}) `),
  });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  console.log(`\n[${action.id}] ${r.methods.map((m) => `${m.method} ${m.accuracy.mean.toFixed(1)} ± ${m.accuracy.std.toFixed(1)}`).join(', ')}; ${seconds.toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU (DualAlign ${r.seconds.toFixed(0)} s wall)`);
  results.push({ r, seconds, cpuSeconds });
  write(false); // after every exercise, so an interrupted run keeps what it finished
}
write(true);

function write(done) {
  const total = (performance.now() - started) / 1000;
  const c = process.cpuUsage(cpuStart);
  const cpu = (c.user + c.system) / 1e6;
  const table = crossValidationTable(results.map((x) => x.r));
  const srccTable = crossValidationTable(results.map((x) => x.r), { metric: 'srcc' });
  const timing = `${done ? 'Total' : 'So far'}: ${(total / 60).toFixed(1)} min wall, ${(cpu / 60).toFixed(1)} min CPU, for ${results.length} exercise(s) x ${folds} folds (${(total / results.length).toFixed(0)} s per exercise).`;
  if (done) console.log(`\n${table}\n${srccTable}\n${timing}`);
  writeFileSync(join(values.out, 'table.md'), `# UI-PRMD, subject-wise ${folds}-fold cross-validation\n\n${table}\n${srccTable}\n${timing}\n`);
  writeFileSync(
    join(values.out, 'metrics.json'),
    `${JSON.stringify(
      {
        settings: { ...values, model: MODEL, train: TRAIN },
        done,
        totalSeconds: total,
        cpuSeconds: cpu,
        exercises: results.map(({ r, seconds, cpuSeconds }) => ({
          id: r.action.id,
          name: r.action.name,
          seconds,
          cpuSeconds,
          dualAlignSeconds: r.seconds,
          protocol: r.protocol,
          testSubjects: r.folds.map((f) => f.testSubjects),
          methods: r.methods.map((m) => ({ method: m.method, seconds: m.seconds, accuracy: m.accuracy, srcc: m.srcc, pooledAccuracy: m.pooled.accuracy, perFoldAccuracy: m.folds.map((f) => f.accuracy) })),
        })),
      },
      null,
      2,
    )}\n`,
  );
}
console.log(`results in ${values.out}`);
shutdown();
