import { mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryFileSource } from '../../src/data/dataset.js';
import { writeNpy, writeNpz } from '../../src/data/npy.js';
import { encodePlainDataset, parsePlainDataset } from '../../src/data/plain.js';
import { loadPlainDataset, writePlainDataset } from '../../src/data/plain.node.js';
import { encodeSafetensors } from '../../src/data/safetensors.js';
import { generateSyntheticMMJDM } from '../../src/data/synthetic.js';
import type { Dataset } from '../../src/data/types.js';

const tempRoot = mkdtempSync(join(tmpdir(), 'dualalign-plain-'));
afterAll(() => rmSync(tempRoot, { recursive: true, force: true }));

const small = (): Dataset =>
  generateSyntheticMMJDM({
    seed: 4,
    actions: 2,
    samplesPerAction: 6,
    clips: 3,
    framesPerClip: 2,
    imageFrames: 4,
    joints: 5,
    dims: { video: 8, flow: 6, image: 4, text: 16 },
  });

const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
const f32 = (shape: number[], fill = 1): Uint8Array =>
  writeNpy({ dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });

/** A minimal in-memory plain dataset: two samples, one modality. */
function files(extra: Record<string, Uint8Array | undefined> = {}): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>([
    ['manifest.csv', enc('id,action,grade,split,subject\na1,walk,0,train,s1\na2,walk,2,test,s2\n')],
    ['video/a1.npy', f32([3, 4])],
    ['video/a2.npy', f32([5, 4])],
  ]);
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) map.delete(k);
    else map.set(k, v);
  }
  return map;
}
const load = (extra: Record<string, Uint8Array | undefined> = {}): Dataset => parsePlainDataset(memoryFileSource(files(extra), 'ds'));

describe('plain layout', () => {
  it('round-trips a dataset through the file system', () => {
    const original = small();
    original.samples[1]!.score = 0.123456789;
    const dir = join(tempRoot, 'roundtrip');
    writePlainDataset(dir, original);
    const loaded = loadPlainDataset(dir);
    expect(loaded.actions).toEqual(original.actions);
    expect(loaded.modalities).toEqual([...original.modalities].sort());
    expect(loaded.samples).toHaveLength(original.samples.length);
    loaded.samples.forEach((sample, i) => {
      const want = original.samples[i]!;
      expect({ ...sample, modalities: undefined }).toEqual({ ...want, modalities: undefined });
      for (const modality of original.modalities) {
        expect(sample.modalities[modality]!.shape).toEqual(want.modalities[modality]!.shape);
        expect(Array.from(sample.modalities[modality]!.data)).toEqual(Array.from(want.modalities[modality]!.data));
      }
    });
    expect(loaded.summary).toEqual({ ...original.summary, warnings: [] });
  });

  it('leaves a missing modality file undefined and counts it', () => {
    const ds = load({ 'video/a2.npy': undefined });
    expect(ds.samples[1]!.modalities.video).toBeUndefined();
    expect('video' in ds.samples[1]!.modalities).toBe(true);
    expect(ds.summary.missingModalities).toEqual({ video: 1 });
    expect(ds.summary.loaded).toBe(2);
  });

  it('names the file and the sample for corrupt, truncated, non-finite and mismatched files', () => {
    const truncated = f32([5, 4]).slice(0, 100);
    expect(() => load({ 'video/a2.npy': truncated })).toThrow(/ds\/video\/a2\.npy \(sample 'a2'\): .*truncated/);
    expect(() => load({ 'video/a2.npy': enc('not numpy at all') })).toThrow(/ds\/video\/a2\.npy \(sample 'a2'\): .*bad magic/);
    expect(() => load({ 'video/a2.npy': f32([5, 3]) })).toThrow(/ds\/video\/a2\.npy \(sample 'a2'\): shape \[5, 3\] does not match video shape \[\*, 4\] of ds\/video\/a1\.npy/);
    expect(() => load({ 'video/a2.npy': f32([5, 4], NaN) })).toThrow(/ds\/video\/a2\.npy \(sample 'a2'\): .*not finite/);
    expect(() => load({ 'video/a2.npy': f32([4]) })).toThrow(/sample 'a2'/);
  });

  it('reports files that have no manifest row instead of ignoring them', () => {
    const ds = load({ 'video/zz.npy': f32([1, 4]) });
    expect(ds.summary.warnings).toEqual(['video/: 1 file(s) with no manifest row: zz.npy']);
  });

  it('accepts .npz and .safetensors feature files', () => {
    const npz = writeNpz({ video: { dtype: 'float64', shape: [2, 4], data: new Float64Array(8).fill(0.5) } });
    const st = encodeSafetensors({ anything: { dtype: 'F16', shape: [2, 4], data: new Float32Array(8).fill(2) } });
    const ds = load({ 'video/a1.npy': undefined, 'video/a1.npz': npz, 'video/a2.npy': undefined, 'video/a2.safetensors': st });
    expect(Array.from(ds.samples[0]!.modalities.video!.data)).toEqual(new Array(8).fill(0.5));
    expect(Array.from(ds.samples[1]!.modalities.video!.data)).toEqual(new Array(8).fill(2));
    expect(() => load({ 'video/a1.safetensors': st })).toThrow(/sample 'a1' has several files/);
  });

  it('reads manifest.json with scores and declared actions', () => {
    const manifest = {
      actions: [{ id: 'walk', name: 'Walking', minGrade: 0, maxGrade: 4 }],
      samples: [
        { id: 'a1', action: 'walk', score: 7.5, split: 'train' },
        { id: 'a2', action: 'walk', grade: 3 },
      ],
    };
    const ds = load({ 'manifest.csv': undefined, 'manifest.json': enc(JSON.stringify(manifest)) });
    expect(ds.actions).toEqual([{ id: 'walk', name: 'Walking', minGrade: 0, maxGrade: 4, numGrades: 5 }]);
    expect(ds.samples[0]).toMatchObject({ id: 'a1', score: 7.5, split: 'train' });
    expect(ds.samples[1]!.grade).toBe(3);
    const outOfRange = { ...manifest, samples: [{ id: 'a1', action: 'walk', grade: 9 }] };
    expect(() => load({ 'manifest.csv': undefined, 'manifest.json': enc(JSON.stringify(outOfRange)) })).toThrow(/sample 'a1' grade 9 is outside walk's range 0\.\.4/);
    expect(load({ 'manifest.json': enc(JSON.stringify(manifest.samples)) }).summary.warnings).toContain('both manifest.json and manifest.csv exist; manifest.json was used');
  });

  it('rejects bad manifest rows, naming the row and sample', () => {
    const bad = (csv: string): Dataset => load({ 'manifest.csv': enc(csv) });
    expect(() => bad('id,action,grade\na1,walk,0\na1,walk,1\n')).toThrow(/duplicate sample id 'a1'/);
    expect(() => bad('id,action,grade,split\na1,walk,0,validation\n')).toThrow(/row 1 \(sample 'a1'\): split must be/);
    expect(() => bad('id,action,grade\na1,walk,1.5\n')).toThrow(/grade 1\.5 is not an integer/);
    expect(() => bad('id,action,grade\n../etc,walk,1\n')).toThrow(/cannot be used as a file name/);
    expect(() => bad('id,action,grade\na1,,1\n')).toThrow(/sample 'a1'.*missing 'action'/);
    expect(() => bad('id,action,grade\na1,walk\n')).toThrow(/row 2 has 2 fields/);
    expect(() => parsePlainDataset(memoryFileSource(new Map(), 'empty'))).toThrow(/empty: no manifest/);
  });

  it('writes a manifest that keeps quoting, empty labels and unsafe ids in check', () => {
    const ds = small();
    ds.samples[0]!.subject = 'Doe, "J"';
    delete ds.samples[0]!.grade;
    const out = encodePlainDataset(ds);
    const back = parsePlainDataset(memoryFileSource(out));
    expect(back.samples[0]!.subject).toBe('Doe, "J"');
    expect(back.samples[0]!.grade).toBeUndefined();
    ds.samples[0]!.id = 'a/b';
    expect(() => encodePlainDataset(ds)).toThrow(/cannot be used as a file name/);
    const other = small();
    other.modalities.push('../escape');
    expect(() => encodePlainDataset(other)).toThrow(/modality name "\.\.\/escape" cannot be a folder name/);
  });

  it('loads from disk and reports errors with the real path', () => {
    const dir = join(tempRoot, 'disk');
    writePlainDataset(dir, small());
    const victim = join(dir, 'flow', 'JDM02_0003.npy');
    writeFileSync(victim, f32([2, 2]).slice(0, 90));
    expect(() => loadPlainDataset(dir)).toThrow(new RegExp(`${victim.replace(/[/.]/g, '\\$&')} \\(sample 'JDM02_0003'\\)`));
    unlinkSync(victim);
    expect(loadPlainDataset(dir).summary.missingModalities.flow).toBe(1);
    expect(() => loadPlainDataset(join(tempRoot, 'nope'))).toThrow(/dataset folder not found/);
  });
});
