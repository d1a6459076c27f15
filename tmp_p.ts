import { init, gpuRuntime, sync } from './src/index.js';
import { generateSyntheticMMJDM } from './src/data/synthetic.js';
import { dualAlignKit } from './src/train/dualalignKit.js';
import { scope } from './src/autograd/engine.js';
import { SGD } from './src/optim/index.js';
await init();
const ds = generateSyntheticMMJDM({ seed: 1, actions: 1, framesPerClip: Number(process.argv[3] ?? 16), imageFrames: Number(process.argv[4] ?? 103) });
const ov = JSON.parse(process.argv[2] ?? '{}');
const a = ds.actions[0];
const train = ds.samples.filter(s => s.split === 'train');
const cfg = dualAlignKit.configFor(ds, a, train, ov);
const model = dualAlignKit.create(cfg);
const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const rt = gpuRuntime()!;
for (let it = 0; it < 4; it++) {
  await scope(async () => {
    let t = performance.now();
    const lap = async (name: string) => { await sync(); const n = performance.now(); console.log(name, (n - t).toFixed(0), 'ms'); t = n; };
    const b = dualAlignKit.collate(train.slice(0, 8), cfg) as any;
    await lap('collate');
    const terms = model.loss(b);
    await lap('forward');
    terms.total.backward();
    await lap('backward');
    opt.step(); opt.zeroGrad();
    await lap('step');
    const p = await model.predict(b);
    await lap('predict');
    dualAlignKit.disposeBatch(b);
  });
  console.log('---', (rt as any).stats?.() ?? '');
}
