import { generateSyntheticMMJDM } from './src/data/synthetic.js';
import { actionSplit } from './src/train/trainer.js';
import { ridgeBaseline } from './src/train/baselines.js';
for (const seed of [7, 1, 2]) {
  const ds = generateSyntheticMMJDM({ seed, actions: ['01','03'], framesPerClip: 1, imageFrames: 8, scale: 1 });
  for (const a of ds.actions) {
    const { train, test } = actionSplit(ds.samples, a);
    const r = (m: string[], p: any = 'mean') => ridgeBaseline(a, train, test, { modalities: m, pooling: p }).metrics.srcc.toFixed(2);
    console.log(seed, a.id, 'all', r(ds.modalities), 'all+std', r(ds.modalities, 'mean+std'), 'video', r(['video']), 'skel', r(['skeleton']), 'flow', r(['flow']));
  }
}
