import { init } from './src/index.js';
import { generateSyntheticMMJDM } from './src/data/synthetic.js';
import { trainAction } from './src/train/trainer.js';
import { dualAlignKit } from './src/train/dualalignKit.js';
await init();
let t0 = performance.now();
const ds = generateSyntheticMMJDM({ seed: 1, actions: 3 });
const ov = JSON.parse(process.argv[2] ?? '{}');
const epochs = Number(process.argv[3] ?? 10);
for (const a of ds.actions) {
  t0 = performance.now();
  let ts = performance.now();
  const r = await trainAction({ kit: dualAlignKit, dataset: ds, action: a.id, epochs, batchSize: 8, seed: 1, modelOverrides: ov, onEvent: (e) => { if (e.type === 'start') console.log(e.model, e.optimizer); if (e.type==='epoch') { console.log(e.record.epoch, e.record.loss.toFixed(3), e.record.grade?.toFixed(3), e.record.vfs?.toFixed(3), e.record.vit?.toFixed(3), 'srcc', e.record.test.srcc.toFixed(2), 'acc', e.record.test.accuracy.toFixed(0), ((performance.now()-ts)/1000).toFixed(1)+'s'); ts = performance.now(); } } });
  console.log(a.id, 'best', r.bestEpoch, JSON.stringify(r.best.metrics), 'srccScore', r.best.srccScore.toFixed(3), ((performance.now() - t0) / 1000).toFixed(1), 's', 'buffers', r.bufferTrace.join(','));
  r.model.dispose();
}
