// Missing-modality robustness (the paper's Fig. 14): models trained with every modality are
// evaluated with flow, skeleton, CLIP image and text removed from 0, 10, 30, 50, 70 and 90% of
// the test samples (independently per modality; video is always kept). Writes a table and a plot.
//
// Run from the repository root:
//   node scripts/build.mjs && node examples/missing-modality.mjs [--from runs/<a train run>] [--actions 2] [--epochs 12]
//
// With --from, the checkpoints of that run are used (e.g. `npm run demo` first, then --from runs/demo
// --actions 3); otherwise a small model per action is trained first. The same experiment from the CLI:
//   node dist/cli.js robustness --mode modality --synthetic --actions 2 --from runs/demo
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { init, loadTrainingData, runExperiment, runModalityRobustness, loadRunModels, dualAlignKit, shutdown } from '../dist/index.js';

const { values } = parseArgs({ options: { from: { type: 'string' }, actions: { type: 'string', default: '2' }, epochs: { type: 'string', default: '12' }, out: { type: 'string', default: 'runs/example-missing-modality' } } });

await init();
// The demo's data settings (same seed), so checkpoints from `npm run demo` match.
const { dataset } = loadTrainingData({ synthetic: { seed: 0, actions: Number(values.actions), scale: 0.75, framesPerClip: 2, imageFrames: 16 } });
let models;
let runDir = values.out;
if (values.from) {
  if (!existsSync(values.from)) throw new Error(`${values.from} not found: run 'npm run demo' (or dualalign train) first`);
  runDir = values.from;
  models = await loadRunModels(dualAlignKit, values.from, dataset.actions);
} else {
  const trained = await runExperiment({
    name: 'example-missing-modality', runDir, kit: dualAlignKit, dataset, epochs: Number(values.epochs), batchSize: 8, seed: 0,
    preset: 'reference-code', lr: 2e-3, modelOverrides: { d1: 64, d2: 32, d3: 32, heads: 4, gcnChannels: [16, 16], logitScale: 10, dropout: 0.2 },
    keepModels: true, plots: false, baselines: false,
    // Epoch chosen on a validation split carved from the training samples (the default); the test split is only used below.
    onEvent: (e) => e.type === 'epoch' && console.log(`[${e.action}] epoch ${e.record.epoch} validation SRCC×100 ${(e.record.validation.srcc * 100).toFixed(1)}`),
  });
  models = trained.models;
}
const { summary, files } = await runModalityRobustness({ name: 'missing modality', runDir, kit: dualAlignKit, dataset, models, repeats: 3, seed: 0 });
console.log(readFileSync(files.find((f) => f.endsWith('.md')), 'utf8'));
console.log(`average SRCC×100 by rate: ${summary.points.map((p) => `${p.rate}: ${(p.average.srcc * 100).toFixed(1)}`).join(', ')}`);
console.log(`files:\n  ${files.join('\n  ')}`);
for (const { model } of models.values()) model.dispose();
shutdown();
