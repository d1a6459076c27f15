import type { Sample } from '../../src/data/types.js';
import type { DualAlignConfig } from '../../src/models/index.js';

/** Small dimensions for tests. */
export function smallConfig(over: Partial<DualAlignConfig> = {}): DualAlignConfig {
  return {
    numGrades: 4,
    d1: 16,
    d2: 8,
    d3: 8,
    heads: 2,
    dropout: 0.1,
    streams: [
      { name: 'video', kind: 'linear', inputDim: 12 },
      { name: 'flow', kind: 'linear', inputDim: 10 },
      { name: 'skeleton', kind: 'graph', inputDim: 3, layout: 'halpe26', gcnChannels: [8] },
    ],
    fusion: [
      { with: 'skeleton', name: 'spatialEn' },
      { with: 'flow', name: 'temporalEn' },
    ],
    image: { name: 'image', inputDim: 6, kernelSize: 3 },
    text: { name: 'text', inputDim: 5 },
    ...over,
  };
}

/** Deterministic pseudo-random samples. */
export function makeSamples(n: number, opts: { clips?: number; fpc?: number; imageFrames?: number; joints?: number; seed?: number; missing?: Record<string, number[]>; grades?: number } = {}): Sample[] {
  const { clips = 3, fpc = 2, imageFrames = 5, joints = 26, seed = 1, missing = {}, grades = 4 } = opts;
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const arr = (len: number) => Float32Array.from({ length: len }, rnd);
  return Array.from({ length: n }, (_, i) => {
    const mods: Sample['modalities'] = {
      video: { data: arr(clips * 12), shape: [clips, 12] },
      flow: { data: arr(clips * 10), shape: [clips, 10] },
      skeleton: { data: arr(clips * fpc * joints * 3).map((v) => v * 100 + 200), shape: [clips * fpc, joints, 3] },
      image: { data: arr(imageFrames * 6), shape: [imageFrames, 6] },
      text: { data: arr(5), shape: [5] },
    };
    for (const [m, idx] of Object.entries(missing)) if (idx.includes(i)) mods[m] = undefined;
    return { id: `s${i}`, action: 'a', grade: i % grades, score: (i * 37) % 100, modalities: mods };
  });
}
