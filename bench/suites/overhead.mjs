// Overhead suite: the host cost of a tiny op. A chain of N elementwise ops (alternately + 0.001 and
// × 1.0001, a scalar operand) on a 64-float tensor, inside tidy, then one readback; µs per op =
// wall time of the whole chain / N. The GPU work is negligible (64 floats), so this measures what
// a user feels in a loop of small ops: tensor creation, autograd bookkeeping, kernel lookup,
// parameter packing, bind groups, command encoding, submit, and the one readback.
//
// Peer: tfjs-webgpu on the same Dawn adapter (the same user-level code in tf.tidy), with its
// WEBGPU_CPU_FORWARD flag off so that every op is a GPU dispatch as ours is (by default tfjs-webgpu
// computes an op whose inputs are on the host and under 1000 elements in plain JS on the CPU; that
// default is reported too, as a separate row, for what it is: no GPU work at all). Ours is timed
// alone first (a second Dawn device on lavapipe has slowed ours before: see the attention suite),
// then both interleaved, one chain each per round, after tfjs is loaded; the ratio is from the
// interleaved rounds.
//
// Harness use: `export name` + `run(ctx)`. Standalone: `node bench/suites/overhead.mjs [--quick]`.
import { loadavg } from 'node:os';
import { PEERS } from '../peers/tfjs.mjs';

export const name = 'overhead';
export const title = 'Host cost of a tiny op (chain of elementwise ops on 64 floats, one readback)';

const SIZE = 64;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function oursChain(lib, x, n) {
  return async () => {
    const t0 = performance.now();
    const y = lib.tidy(() => {
      let v = x;
      for (let i = 0; i < n; i++) v = i % 2 ? v.mul(1.0001) : v.add(0.001);
      return v;
    });
    const out = await y.data();
    y.dispose();
    return { us: ((performance.now() - t0) * 1000) / n, out };
  };
}

function tfChain(tf, x, n) {
  return async () => {
    const t0 = performance.now();
    const y = tf.tidy(() => {
      let v = x;
      for (let i = 0; i < n; i++) v = i % 2 ? tf.mul(v, 1.0001) : tf.add(v, 0.001);
      return v;
    });
    const out = await y.data();
    y.dispose();
    return { us: ((performance.now() - t0) * 1000) / n, out };
  };
}

export async function run(ctx = {}) {
  const lib = ctx.lib;
  const log = ctx.log ?? ((...a) => console.log(...a));
  const quick = !!ctx.quick;
  const n = quick ? 200 : 1000;
  const rounds = quick ? 3 : 15;
  const results = [];
  const data = Float32Array.from({ length: SIZE }, (_, i) => i / SIZE);
  const x = lib.tensor(data, [SIZE]);
  const ours = oursChain(lib, x, n);
  await ours(); // compile the two pipelines
  const alone = [];
  for (let r = 0; r < rounds; r++) alone.push((await ours()).us);
  const load0 = loadavg()[0].toFixed(1);
  results.push({ name: `overhead/ours-alone/${n}×64`, value: median(alone), unit: 'µs/op', note: `median of ${rounds} chains, before tfjs is loaded (load ${load0})` });
  log(`ours alone: ${median(alone).toFixed(1)} µs/op (min ${Math.min(...alone).toFixed(1)}, load ${load0})`);

  let tf = null;
  try {
    tf = await PEERS['tfjs-webgpu'].load();
    await PEERS['tfjs-webgpu'].activate();
  } catch (e) {
    log(`tfjs-webgpu unavailable: ${e.message}`);
  }
  if (tf) {
    const tx = tf.tensor(data, [SIZE]);
    const peer = tfChain(tf, tx, n);
    // Default flags first (CPU forwarding: the 64-float chain never reaches the GPU).
    await peer();
    const cpuFwd = [];
    for (let r = 0; r < rounds; r++) cpuFwd.push((await peer()).us);
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    const ref = await peer();
    const mine = await ours();
    let maxDiff = 0;
    for (let i = 0; i < SIZE; i++) maxDiff = Math.max(maxDiff, Math.abs(ref.out[i] - mine.out[i]) / Math.max(1, Math.abs(ref.out[i])));
    if (maxDiff > 1e-4) throw new Error(`tfjs-webgpu's chain differs from ours (max rel diff ${maxDiff})`);
    const a = [];
    const b = [];
    for (let r = 0; r < rounds; r++) {
      a.push((await ours()).us);
      b.push((await peer()).us);
    }
    const load1 = loadavg()[0].toFixed(1);
    const mo = median(a);
    const mt = median(b);
    results.push({ name: `overhead/ours/${n}×64`, value: mo, unit: 'µs/op', note: `median of ${rounds} chains interleaved with tfjs-webgpu (load ${load1})` });
    results.push({ name: `overhead/tfjs-webgpu/${n}×64`, value: mt, unit: 'µs/op', note: `same rounds, WEBGPU_CPU_FORWARD off (every op a dispatch); ×faster (tfjs / ours) = ${(mt / mo).toFixed(2)}` });
    results.push({ name: `overhead/tfjs-webgpu-cpu-forward/${n}×64`, value: median(cpuFwd), unit: 'µs/op', note: 'tfjs default flags: ops on < 1000 host-resident elements run in JS on the CPU, no dispatch (not comparable)' });
    log(`tfjs-webgpu with its default CPU forwarding (no dispatches): ${median(cpuFwd).toFixed(1)} µs/op`);
    log(`interleaved: ours ${mo.toFixed(1)} µs/op, tfjs-webgpu ${mt.toFixed(1)} µs/op: ours ${(mt / mo).toFixed(2)}× faster (load ${load1})`);
    tx.dispose();
  }
  x.dispose();
  return results;
}

// Standalone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const dist = process.env.DUALALIGN_DIST ?? new URL('../../dist/index.js', import.meta.url).href;
  const lib = await import(dist.startsWith('/') ? `file://${dist}` : dist);
  const info = await lib.init();
  console.log(`adapter: ${info.vendor} ${info.architecture} ${info.description}`);
  const results = await run({ lib, quick: process.argv.includes('--quick') });
  for (const r of results) console.log(`${r.name.padEnd(32)} ${r.value.toFixed(2)} ${r.unit}  ${r.note}`);
  lib.shutdown?.();
  process.exit(0);
}
