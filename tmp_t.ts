import { init } from './src/index.js';
import { generateSyntheticMMJDM } from './src/data/synthetic.js';
import { trainAction, actionSplit } from './src/train/trainer.js';
import { dualAlignKit } from './src/train/dualalignKit.js';
import { pooledMlpKit } from './src/train/pooledMlp.js';
import { ridgeBaseline } from './src/train/baselines.js';
await init();
const o = JSON.parse(process.argv[2] ?? '{}');
const ds = generateSyntheticMMJDM({ seed: 1, actions: o.actions ?? ['01'], framesPerClip: o.fpc ?? 2, imageFrames: o.img ?? 16, scale: o.scale ?? 0.25 });
const kit = o.kit === 'mlp' ? pooledMlpKit : dualAlignKit;
for (const a of ds.actions) {
  const t0 = performance.now();
  let ts = performance.now();
  const r = await trainAction({ kit, dataset: ds, action: a.id, epochs: o.epochs ?? 15, batchSize: o.bs ?? 8, seed: 1, lr: o.lr, preset: o.preset, modelOverrides: o.ov ?? {}, onEvent: (e) => { if (e.type === 'start') console.log(e.model, e.optimizer, e.trainSize, e.testSize); if (e.type==='epoch') { console.log(e.record.epoch, e.record.loss.toFixed(3), e.record.grade?.toFixed(3), e.record.vfs?.toFixed(3), e.record.vit?.toFixed(3), 'srcc', e.record.test.srcc.toFixed(2), 'sc', e.record.test.srccScore.toFixed(2), 'acc', e.record.test.accuracy.toFixed(0), ((performance.now()-ts)/1000).toFixed(1)+'s'); ts = performance.now(); } } });
  const { train, test } = actionSplit(ds.samples, a);
  const rid = ridgeBaseline(a, train, test, { modalities: ds.modalities });
  console.log(a.id, 'best', r.bestEpoch, JSON.stringify(r.best.metrics), 'srccScore', r.best.srccScore.toFixed(3), 'ridge', rid.metrics.srcc.toFixed(3), ((performance.now() - t0) / 1000).toFixed(1), 's');
  r.model.dispose();
}
