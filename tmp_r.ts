import { generateSyntheticMMJDM } from './src/data/synthetic.js';
import { actionSplit } from './src/train/trainer.js';
import { ridgeBaseline } from './src/train/baselines.js';
for (const seed of [1, 2, 3]) {
  const ds = generateSyntheticMMJDM({ seed, actions: 3, framesPerClip: 2, imageFrames: 16, scale: 0.5 });
  for (const a of ds.actions) {
    const { train, test } = actionSplit(ds.samples, a);
    const r1 = ridgeBaseline(a, train, test, { modalities: ds.modalities, pooling: 'mean' });
    const r2 = ridgeBaseline(a, train, test, { modalities: ds.modalities, pooling: 'mean+std' });
    const r3 = ridgeBaseline(a, train, test, { modalities: ['video'], pooling: 'mean' });
    console.log(seed, a.id, 'mean', r1.metrics.srcc.toFixed(2), 'mean+std', r2.metrics.srcc.toFixed(2), 'video mean', r3.metrics.srcc.toFixed(2));
  }
}
