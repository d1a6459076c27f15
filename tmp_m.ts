import { init } from './src/index.js';
import { generateSyntheticMMJDM } from './src/data/synthetic.js';
import { trainAction, actionSplit } from './src/train/trainer.js';
import { pooledMlpKit } from './src/train/pooledMlp.js';
import { ridgeBaseline } from './src/train/baselines.js';
await init();
for (const seed of [7, 1]) {
const data = generateSyntheticMMJDM({ seed, actions: ['01', '03'], scale: 1, framesPerClip: 1, imageFrames: 8 });
for (const cfg of [{ preset: 'reference-code', lr: 1e-3, epochs: 20 }, { preset: 'paper', lr: 1e-2, epochs: 20 }] as any[]) {
  const out = [];
  for (const a of data.actions) {
    const r = await trainAction({ kit: pooledMlpKit, dataset: data, action: a.id, batchSize: 8, seed: 3, ...cfg, modelOverrides: { hidden: [64], dropout: 0.5 } });
    r.model.dispose();
    const { train, test } = actionSplit(data.samples, a);
    out.push(`${a.id} best ${r.best.metrics.srcc.toFixed(2)}/${r.best.srccScore.toFixed(2)} final ${r.history.at(-1)!.test.srccScore.toFixed(2)} ridge ${ridgeBaseline(a, train, test, { modalities: data.modalities }).metrics.srcc.toFixed(2)}`);
  }
  console.log(seed, JSON.stringify(cfg), out.join(' | '));
}
}
