// Load a checkpoint and grade one sample: the predicted grade, the probability of each grade
// and which modalities the sample had (missing ones are replaced by the model's placeholders).
//
// Run from the repository root:
//   node scripts/build.mjs && node examples/predict-checkpoint.mjs [--checkpoint runs/demo/checkpoints/01/best.ckpt] [--drop text,flow]
//
// Without --checkpoint it uses runs/demo/checkpoints/01/best.ckpt (from `npm run demo`), or trains
// a tiny model for action 01 first. The CLI equivalent:
//   node dist/cli.js predict --checkpoint runs/demo/checkpoints/01/best.ckpt --synthetic --scale 0.75 --frames-per-clip 2 --image-frames 16 --id JDM01_0003
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { init, loadTrainingData, loadAnyCheckpoint, trainAction, dualAlignKit, shutdown } from '../dist/index.js';

const { values } = parseArgs({ options: { checkpoint: { type: 'string', default: 'runs/demo/checkpoints/01/best.ckpt' }, drop: { type: 'string', default: '' } } });

await init();
const { dataset } = loadTrainingData({ synthetic: { seed: 0, actions: 1, scale: 0.75, framesPerClip: 2, imageFrames: 16 } });
let path = values.checkpoint;
if (!existsSync(path)) {
  console.log(`${path} not found: training a tiny model for action 01 first (or run 'npm run demo')`);
  path = 'runs/example-predict/checkpoints/01';
  const r = await trainAction({ kit: dualAlignKit, dataset, action: '01', epochs: 4, batchSize: 8, seed: 0, preset: 'reference-code', lr: 2e-3, modelOverrides: { d1: 32, d2: 16, d3: 16, heads: 2, gcnChannels: [8], logitScale: 10 }, checkpointDir: path });
  r.model.dispose();
  path = `${path}/best.ckpt`;
}

const { model, config, kit, extra } = await loadAnyCheckpoint(path);
console.log(`checkpoint ${path}: ${kit.describe(config)}; action ${extra.action?.id} (${extra.action?.name}), epoch ${extra.epoch}`);

const sample = dataset.samples.find((s) => s.split === 'test');
const dropped = values.drop ? values.drop.split(',') : [];
const input = { ...sample, modalities: { ...sample.modalities } };
for (const m of dropped) input.modalities[m] = undefined;

const batch = kit.collate([input], config);
const prediction = await model.predict(batch);
kit.disposeBatch(batch);
const minGrade = extra.action?.minGrade ?? 0;
const probs = Array.from(prediction.probabilities[0]);
console.log(`sample ${sample.id}: predicted grade ${prediction.grades[0] + minGrade} (true ${sample.grade})`);
console.log(`probabilities: ${probs.map((p, g) => `grade ${g + minGrade}: ${(100 * p).toFixed(1)}%`).join(', ')}`);
console.log(`modalities present: ${JSON.stringify(prediction.modalitiesPresent[0])}`);
model.dispose();
shutdown();
