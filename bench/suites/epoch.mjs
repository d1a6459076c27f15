// End to end: one training epoch of DualAlign on one action of the synthetic MM-JDM, through the
// library's own training API (trainAction with dualAlignKit: batching, loss, backward, optimizer,
// then the test-split evaluation that closes every epoch). Paper-size model and inputs (10 clips,
// 103 CLIP frames, 26 joints × 16 frames per clip) on a reduced sample count so one epoch stays well
// under a minute on lavapipe; --quick uses a tiny model and inputs. Timed per epoch from trainAction's
// 'start' event to its 'epoch' event (model construction and data generation excluded).
//
// Harness use: export `name` and `run(ctx)`; standalone: `node bench/suites/epoch.mjs [--quick]`.
export const name = 'epoch';
export const title = 'One training epoch of DualAlign on a synthetic MM-JDM action (end to end)';
// After the model suite: the pipelines it compiled are reused here.
export const order = 1;

const TINY = { d1: 32, d2: 16, d3: 16, heads: 2, gcnChannels: [8] };

export async function run(ctx = {}) {
  const lib = ctx.lib;
  const log = ctx.log ?? ((...a) => console.log(...a));
  const quick = !!ctx.quick;
  const samplesPerAction = quick ? 16 : 24;
  const synthetic = quick ? { seed: 5, actions: ['01'], samplesPerAction, framesPerClip: 1, imageFrames: 8 } : { seed: 5, actions: ['01'], samplesPerAction };
  const { dataset } = lib.loadTrainingData({ synthetic });
  const batchSize = 8;
  const reps = quick ? 0 : 1; // --quick: the first epoch only (a smoke test)
  const results = [];
  const times = [];
  let info = null;
  for (let r = 0; r < reps + 1; r++) {
    let t0 = 0;
    let epochMs = 0;
    const res = await lib.trainAction({
      kit: lib.dualAlignKit,
      dataset,
      action: '01',
      epochs: 1,
      batchSize,
      seed: 3,
      preset: 'reference-code',
      ...(quick ? { modelOverrides: TINY } : {}),
      onEvent: (e) => {
        if (e.type === 'start') {
          t0 = performance.now();
          info = e;
        }
        if (e.type === 'epoch') epochMs = performance.now() - t0;
      },
    });
    res.model.dispose();
    // The first epoch compiles the pipelines: reported apart, not in the median.
    if (r === 0) results.push({ name: 'epoch/first (pipelines compile)', value: epochMs / 1000, unit: 's' });
    else times.push(epochMs);
    log(`epoch ${r}: ${(epochMs / 1000).toFixed(2)} s (${info.trainSize} train + ${info.testSize} test samples, ${info.stepsPerEpoch} steps of ${batchSize})`);
  }
  if (!times.length) return results;
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const note = `${info.trainSize} train samples in ${info.stepsPerEpoch} steps of ${batchSize}, then ${info.testSize} test samples evaluated; ${quick ? 'tiny model' : 'paper-size model'} (${info.model}); ${info.optimizer}; ${times.length} reps`;
  results.push({ name: 'epoch/median', value: median / 1000, unit: 's', note });
  results.push({ name: 'epoch/train samples per second', value: (info.trainSize / median) * 1000, unit: 'samples/s', note: 'evaluation included in the epoch time' });
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lib = await import(new URL('../../dist/index.js', import.meta.url).href);
  await lib.init();
  for (const r of await run({ lib, quick: process.argv.includes('--quick') })) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit} ${r.note ?? ''}`);
  lib.shutdown();
}
