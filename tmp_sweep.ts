import { init } from './src/index.js';
import { generateSyntheticMMJDM } from './src/data/synthetic.js';
import { trainAction, actionSplit } from './src/train/trainer.js';
import { dualAlignKit } from './src/train/dualalignKit.js';
import { ridgeBaseline } from './src/train/baselines.js';
await init();
const seed = Number(process.argv[2] ?? 7);
const data = generateSyntheticMMJDM({ seed, actions: ['01', '03'], scale: 1, framesPerClip: 1, imageFrames: 8 });
const configs: any[] = JSON.parse(process.argv[3]);
if (process.argv[4] === 'std') {
  for (const a of data.actions) {
    const mine = data.samples.filter((s) => s.action === a.id);
    const train = mine.filter((s) => s.split === 'train');
    for (const m of ['video', 'flow', 'image', 'text']) {
      const f0 = train[0].modalities[m]!;
      const C = f0.shape[f0.shape.length - 1];
      const sum = new Float64Array(C), sq = new Float64Array(C); let n = 0;
      for (const s of train) { const d = s.modalities[m]!.data; for (let i = 0; i < d.length; i++) { sum[i % C] += d[i]; sq[i % C] += d[i] * d[i]; } n += d.length / C; }
      const mu = sum.map((v) => v / n), sd = sq.map((v, c) => Math.max(1e-6, Math.sqrt(Math.max(0, v / n - mu[c] ** 2))));
      for (const s of mine) { const f = s.modalities[m]!; const d = Float32Array.from(f.data); for (let i = 0; i < d.length; i++) d[i] = (d[i] - mu[i % C]) / sd[i % C]; s.modalities[m] = { data: d, shape: f.shape }; }
    }
  }
}
for (const c of configs) {
  const t0 = performance.now();
  const out: string[] = [];
  for (const a of data.actions) {
    const r = await trainAction({ kit: dualAlignKit, dataset: data, action: a.id, epochs: c.epochs ?? 8, batchSize: c.bs ?? 8, seed: 3, preset: c.preset ?? 'reference-code', lr: c.lr ?? 2e-3, modelOverrides: { d1: 32, d2: 16, d3: 16, heads: 2, gcnChannels: [8], logitScale: 10, dropout: 0.2, ...(c.ov ?? {}) } });
    r.model.dispose();
    const { train, test } = actionSplit(data.samples, a);
    const rid = ridgeBaseline(a, train, test, { modalities: data.modalities });
    out.push(`${a.id}: best ${r.best.metrics.srcc.toFixed(2)}/${r.best.srccScore.toFixed(2)} final ${r.history.at(-1)!.test.srcc.toFixed(2)}/${r.history.at(-1)!.test.srccScore.toFixed(2)} ridge ${rid.metrics.srcc.toFixed(2)} | ${r.history.map((h) => h.test.srccScore.toFixed(2)).join(' ')}`);
  }
  console.log(JSON.stringify(c), ((performance.now() - t0) / 1000).toFixed(0) + 's');
  for (const o of out) console.log('   ', o);
}
