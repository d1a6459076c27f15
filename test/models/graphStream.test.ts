// GraphStreamEncoder's input normalisation and joint pooling (the skeleton path of the model):
// dataset standardisation keeps the amplitude that each sample's own RMS discards, concatenated
// joints keep the joint identity, both on the CPU reference (float64) and on the device.
import { describe, expect, it } from 'vitest';
import { manualSeed, tensor, noGrad } from '../../src/index.js';
import { GraphStreamEncoder, graphInputStats } from '../../src/models/blocks.js';
import { skeletonOnlyConfig, type StreamSpec } from '../../src/models/config.js';
import { withParamOptions } from '../../src/nn/init.js';
import type { Sample } from '../../src/data/types.js';

const J = 5;
const layout = { joints: J, edges: [[0, 1], [1, 2], [2, 3], [3, 4]] as const };
const T = 6;

/** [T, J, 3] values from a seed. */
function pose(seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: T * J * 3 }, () => scale * (((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 10 - 5));
}

const samples: Sample[] = [1, 2, 3].map((k) => ({ id: `s${k}`, action: 'a', grade: k % 2, modalities: { joints: { data: pose(k), shape: [T, J, 3] } } }));

function encoder(spec: StreamSpec, backend: 'cpu' | 'default', dtype: 'float32' | 'float64' = 'float32'): GraphStreamEncoder {
  manualSeed(5);
  const e = withParamOptions({ backend: backend === 'cpu' ? 'cpu' : undefined, dtype }, () => new GraphStreamEncoder(spec, 8, 0));
  e.eval();
  return e;
}

async function encode(e: GraphStreamEncoder, data: ArrayLike<number>[], backend: 'cpu' | 'default', dtype: 'float32' | 'float64' = 'float32'): Promise<Float64Array> {
  const flat = new Float64Array(data.length * T * J * 3);
  data.forEach((d, i) => flat.set(d, i * T * J * 3));
  const x = tensor(dtype === 'float64' ? flat : Float32Array.from(flat), [data.length, T, J, 3], backend === 'cpu' ? { backend: 'cpu', dtype } : {});
  const y = noGrad(() => e.forward(x, 3));
  const out = Float64Array.from(await y.data());
  y.dispose();
  x.dispose();
  return out;
}

describe('graphInputStats', () => {
  it('per (joint, channel) mean and std over all frames, after centering each frame for center-standardize', () => {
    const spec: StreamSpec = { name: 'joints', kind: 'graph', inputDim: 3, layout, inputNorm: 'standardize' };
    const plain = graphInputStats(samples, spec);
    const centered = graphInputStats(samples, { ...spec, inputNorm: 'center-standardize' });
    expect(plain.mean).toHaveLength(J * 3);
    for (const [j, c] of [[0, 0], [3, 2]] as const) {
      const raw: number[] = [];
      const cen: number[] = [];
      for (const s of samples) {
        const d = s.modalities.joints!.data;
        for (let t = 0; t < T; t++) {
          raw.push(d[(t * J + j) * 3 + c]!);
          let m = 0;
          for (let k = 0; k < J; k++) m += d[(t * J + k) * 3 + c]! / J;
          cen.push(d[(t * J + j) * 3 + c]! - m);
        }
      }
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      const std = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
      expect(plain.mean[j * 3 + c]).toBeCloseTo(mean(raw), 5);
      expect(plain.std[j * 3 + c]).toBeCloseTo(std(raw), 5);
      expect(centered.mean[j * 3 + c]).toBeCloseTo(mean(cen), 5);
      expect(centered.std[j * 3 + c]).toBeCloseTo(std(cen), 5);
    }
    expect(() => graphInputStats([{ id: 'x', action: 'a', modalities: { joints: { data: new Float32Array(12), shape: [1, 4, 3] } } }], spec)).toThrow(/sample 'x'.*\[1, 4, 3\], expected \[T, 5, C\]/);
  });
});

describe('GraphStreamEncoder input normalisation and joint pooling', () => {
  const base: StreamSpec = { name: 'joints', kind: 'graph', inputDim: 3, layout, gcnChannels: [4] };

  it('standardize is (x - mean) / std per joint and channel: same tokens as raw encoding of host-standardised input (CPU float64 and device)', async () => {
    const spec: StreamSpec = { ...base, inputNorm: 'standardize', inputStats: graphInputStats(samples, { ...base, inputNorm: 'standardize' }) };
    const st = spec.inputStats!;
    const host = samples.map((s) => Float64Array.from(s.modalities.joints!.data, (v, i) => (v - st.mean[i % (J * 3)]!) / st.std[i % (J * 3)]!));
    const raw = samples.map((s) => s.modalities.joints!.data);
    const ref = await encode(encoder({ ...base, inputNorm: 'none' }, 'cpu', 'float64'), host, 'cpu', 'float64');
    const cpu = await encode(encoder(spec, 'cpu', 'float64'), raw, 'cpu', 'float64');
    const gpu = await encode(encoder(spec, 'default'), raw, 'default');
    cpu.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 10));
    gpu.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 4));
  });

  it("keeps the amplitude that 'center' (each sample's own RMS) discards", async () => {
    const small = pose(9);
    const large = pose(9, 2); // the same movement, twice as far
    const rms = encoder({ ...base, inputNorm: 'center' }, 'cpu', 'float64');
    const a = await encode(rms, [small, large], 'cpu', 'float64');
    const half = a.length / 2;
    for (let i = 0; i < half; i++) expect(a[i]).toBeCloseTo(a[half + i]!, 8); // indistinguishable
    const std = encoder({ ...base, inputNorm: 'center-standardize', inputStats: graphInputStats(samples, { ...base, inputNorm: 'center-standardize' }) }, 'cpu', 'float64');
    const b = await encode(std, [small, large], 'cpu', 'float64');
    let diff = 0;
    for (let i = 0; i < half; i++) diff = Math.max(diff, Math.abs(b[i]! - b[half + i]!));
    expect(diff).toBeGreaterThan(1e-2);
  });

  it("jointPool 'concat' sees which joint moved; 'mean' projects J·C vs C features", async () => {
    const mean = encoder({ ...base, inputNorm: 'none', jointPool: 'mean' }, 'cpu', 'float64');
    const concat = encoder({ ...base, inputNorm: 'none', jointPool: 'concat' }, 'cpu', 'float64');
    expect(mean.proj.inFeatures).toBe(4);
    expect(concat.proj.inFeatures).toBe(J * 4);
    // Reversing the chain 0-1-2-3-4 is a symmetry of the graph: pooled by the mean, the reversed
    // skeleton is indistinguishable; concatenated, it is not.
    const x = pose(4);
    const swapped = Float32Array.from(x);
    for (let t = 0; t < T; t++) for (let j = 0; j < J; j++) for (let c = 0; c < 3; c++) swapped[(t * J + j) * 3 + c] = x[(t * J + (J - 1 - j)) * 3 + c]!;
    const m = await encode(mean, [x, swapped], 'cpu', 'float64');
    const k = await encode(concat, [x, swapped], 'cpu', 'float64');
    const half = m.length / 2;
    let dm = 0;
    let dk = 0;
    for (let i = 0; i < half; i++) {
      dm = Math.max(dm, Math.abs(m[i]! - m[half + i]!));
      dk = Math.max(dk, Math.abs(k[i]! - k[half + i]!));
    }
    expect(dm).toBeLessThan(1e-9);
    expect(dk).toBeGreaterThan(1e-3);
  });

  it('names what is missing: standardize without inputStats', () => {
    expect(() => encoder({ ...base, inputNorm: 'center-standardize' }, 'cpu')).toThrow(/stream 'joints': inputNorm 'center-standardize' needs inputStats with 15 means and stds/);
  });

  it('skeletonOnlyConfig standardises with the training samples given, and scales by each sample\'s RMS without them', () => {
    const train: Sample[] = [1, 2].map((k) => ({ id: `p${k}`, action: 'a', grade: 0, modalities: { positions: { data: Float32Array.from({ length: T * 22 * 3 }, (_, i) => (i * k) % 7), shape: [T, 22, 3] } } }));
    const withStats = skeletonOnlyConfig({ numGrades: 2, angles: null, trainSamples: train });
    expect(withStats.streams![0]!.inputNorm).toBe('center-standardize');
    expect(withStats.streams![0]!.inputStats!.mean).toHaveLength(66);
    expect(withStats.streams![0]!.jointPool).toBe('concat');
    const without = skeletonOnlyConfig({ numGrades: 2 });
    expect(without.streams!.map((s) => s.inputNorm)).toEqual(['center', 'scale']);
  });
});
