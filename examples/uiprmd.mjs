// UI-PRMD (Vakanski et al. 2018) with a skeleton-only DualAlign: joint positions are the anchor
// stream, joint angles the second stage-1 stream, the exercise description the text; no video,
// flow or CLIP image. Each exercise is its own model (correct = grade 1, incorrect = 0), scored by
// subject-wise k-fold cross-validation (no subject on both sides): accuracy and SRCC of the pooled
// out-of-fold predictions, next to a ridge baseline on the same folds.
//
// Data: ../shared/data/ui-prmd relative to the repository (or $DUALALIGN_UIPRMD_DIR); skipped with a
// message when absent. Run from the repository root:
//   node scripts/build.mjs && node examples/uiprmd.mjs [--exercises m01,m07] [--folds 5] [--epochs 6] [--frames 40]
// The CLI equivalent: node dist/cli.js train --data ../shared/data/ui-prmd --actions m01 --folds 5 --epochs 6 --frames 40 --d1 64 --d2 32 --d3 32 --heads 4 --gcn 16,16
import { parseArgs } from 'node:util';
import { init, isUIPRMDAvailable, defaultUIPRMDDir, loadUIPRMD, crossValidate, dualAlignKit, shutdown } from '../dist/index.js';

const { values } = parseArgs({ options: { exercises: { type: 'string', default: 'm01' }, folds: { type: 'string', default: '5' }, epochs: { type: 'string', default: '6' }, frames: { type: 'string', default: '40' } } });

const dir = defaultUIPRMDDir();
if (!isUIPRMDAvailable(dir)) {
  console.log(`UI-PRMD not found at ${dir} (expects correct/positions and incorrect/positions); set DUALALIGN_UIPRMD_DIR to its folder. Skipping.`);
  process.exit(0);
}
await init();
const exercises = values.exercises.split(',');
const dataset = loadUIPRMD(dir, { exercises, maxFramesResample: Number(values.frames) });
console.log(`UI-PRMD: ${dataset.samples.length} repetitions of ${dataset.actions.map((a) => `${a.id} ${a.name}`).join(', ')}; modalities ${dataset.modalities.join(', ')}`);

const folds = Number(values.folds);
const rows = [];
for (const action of dataset.actions) {
  const r = await crossValidate({
    kit: dualAlignKit, dataset, action: action.id, folds, epochs: Number(values.epochs), batchSize: 8, seed: 0,
    preset: 'reference-code', lr: 2e-3,
    modelOverrides: { d1: 64, d2: 32, d3: 32, heads: 4, gcnChannels: [16, 16], logitScale: 10, dropout: 0.2 },
    onFold: (fold, subjects) => console.log(`[${action.id}] fold ${fold + 1}/${folds}: test subjects ${subjects.join(', ')}`),
    onEvent: (e) => e.type === 'start' && e.startEpoch === 1 && console.log(`  ${e.model}`),
    ridgeModalities: ['positions', 'angles'], // ridge on mean-pooled features, same folds
  });
  rows.push({ exercise: `${action.id} ${action.name}`, accuracy: r.metrics.accuracy, srcc: r.metrics.srcc, ridgeAccuracy: r.ridge.accuracy, ridgeSrcc: r.ridge.srcc });
}
console.log(`\nSubject-wise ${folds}-fold cross-validation (out-of-fold predictions):\n`);
console.log('| Exercise | DualAlign Acc. (%) | DualAlign SRCC (×100) | Ridge Acc. (%) | Ridge SRCC (×100) |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.exercise} | ${r.accuracy.toFixed(2)} | ${(r.srcc * 100).toFixed(2)} | ${r.ridgeAccuracy.toFixed(2)} | ${(r.ridgeSrcc * 100).toFixed(2)} |`);
shutdown();
