import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryFileSource } from '../../src/data/dataset.js';
import { parseMMJDMRelease } from '../../src/data/mmjdm.js';
import { loadMMJDM } from '../../src/data/mmjdm.node.js';
import { writeNpy } from '../../src/data/npy.js';
import type { FeatureArray } from '../../src/data/types.js';
import { FIXTURES, fixtureBytes, fixtureJson } from './fixtures.js';

interface Expected {
  samples: Record<string, { video_sum: number; flow_sum: number | null; skeleton_sum: number; image_sum: number; text_sum: number; grade: number; action: string; split: string }>;
  shapes: Record<string, number[]>;
}
const expected = fixtureJson<Expected>('mmjdm', 'expected.json');
const releaseDir = join(FIXTURES, 'mmjdm');
const releaseFiles = ['label.csv', 'JDM01_rgb_VST.npy', 'JDM01_flow_I3D.npy', 'JDM04_rgb_VST.npy', 'JDM04_flow_I3D.npy', 'JDM_skeleton_raw.npy', 'JDM_text_CLIP.npy', 'train_split.pkl', 'test_split.pkl'];
const sum = (f: FeatureArray | undefined): number => (f ? f.data.reduce((a, b) => a + b, 0) : NaN);

function release(overrides: Record<string, Uint8Array | undefined> = {}): Map<string, Uint8Array> {
  const files = new Map(releaseFiles.map((name) => [name, fixtureBytes('mmjdm', name)] as const));
  for (const [name, bytes] of Object.entries(overrides)) {
    if (bytes === undefined) files.delete(name);
    else files.set(name, bytes);
  }
  return files;
}

describe('MM-JDM release reader', () => {
  const dataset = loadMMJDM(releaseDir);

  it('reads every sample with its action, grade and official split', () => {
    expect(dataset.samples.map((s) => s.id)).toEqual(Object.keys(expected.samples));
    for (const sample of dataset.samples) {
      const want = expected.samples[sample.id]!;
      expect(sample.action).toBe(want.action);
      expect(sample.grade).toBe(want.grade);
      expect(sample.split).toBe(want.split);
    }
    expect(dataset.summary.perAction).toEqual({ '01': 6, '04': 4 });
  });

  it('takes grade ranges and names from Table 2', () => {
    expect(dataset.actions).toEqual([
      { id: '01', name: 'Head Lift', minGrade: 0, maxGrade: 5, numGrades: 6 },
      { id: '04', name: 'Turn Over', minGrade: 0, maxGrade: 4, numGrades: 5 },
    ]);
  });

  it('reads all five modalities with the right shapes and values', () => {
    expect(dataset.modalities).toEqual(['video', 'flow', 'skeleton', 'image', 'text']);
    for (const sample of dataset.samples) {
      const want = expected.samples[sample.id]!;
      for (const modality of ['video', 'skeleton', 'image', 'text'] as const) {
        expect(sample.modalities[modality]!.shape).toEqual(expected.shapes[modality]);
      }
      expect(sum(sample.modalities.video)).toBeCloseTo(want.video_sum, 4);
      expect(sum(sample.modalities.skeleton)).toBeCloseTo(want.skeleton_sum, 4);
      expect(sum(sample.modalities.image)).toBeCloseTo(want.image_sum, 4);
      expect(sum(sample.modalities.text)).toBeCloseTo(want.text_sum, 4);
      if (want.flow_sum === null) expect(sample.modalities.flow).toBeUndefined();
      else expect(sum(sample.modalities.flow)).toBeCloseTo(want.flow_sum, 4);
    }
  });

  it('counts the missing flow entry instead of dropping the sample', () => {
    expect(dataset.summary.missingModalities).toEqual({ video: 0, flow: 1, skeleton: 0, image: 0, text: 0 });
    expect(dataset.summary.loaded).toBe(10);
  });

  it('filters actions and modalities', () => {
    const only = loadMMJDM(releaseDir, { actions: ['Turn Over'], modalities: ['skeleton', 'text'] });
    expect(only.samples.map((s) => s.action)).toEqual(['04', '04', '04', '04']);
    expect(only.modalities).toEqual(['skeleton', 'text']);
    expect(Object.keys(only.samples[0]!.modalities).sort()).toEqual(['skeleton', 'text']);
    // Skeleton rows are picked by label.csv row, not by position within the filtered set.
    expect(sum(only.samples[0]!.modalities.skeleton)).toBeCloseTo(expected.samples.JDM04_0001!.skeleton_sum, 4);
  });

  it('warns (and leaves modalities undefined) when a per-action file is missing', () => {
    const ds = parseMMJDMRelease(memoryFileSource(release({ 'JDM04_rgb_VST.npy': undefined })));
    expect(ds.summary.missingModalities.video).toBe(4);
    expect(ds.summary.warnings.join('\n')).toMatch(/JDM04_rgb_VST\.npy not found/);
  });

  it('warns about samples in no split and feature entries of unknown samples', () => {
    const label = new TextDecoder().decode(fixtureBytes('mmjdm', 'label.csv')).replace(/\n$/, '') + '\nJDM04_0099,V099,Turn Over,4,2\n';
    const ds = parseMMJDMRelease(memoryFileSource(release({ 'label.csv': new TextEncoder().encode(label), 'JDM_skeleton_raw.npy': undefined })));
    expect(ds.samples.at(-1)!.split).toBeUndefined();
    expect(ds.summary.warnings.join('\n')).toMatch(/1 sample\(s\) are in neither split/);
    const fewer = new TextDecoder().decode(fixtureBytes('mmjdm', 'label.csv')).split('\n').filter((l) => !l.startsWith('JDM01_0002')).join('\n');
    const ds2 = parseMMJDMRelease(memoryFileSource(release({ 'label.csv': new TextEncoder().encode(fewer), 'JDM_skeleton_raw.npy': undefined })));
    expect(ds2.summary.warnings.join('\n')).toMatch(/JDM01_rgb_VST\.npy: 1 entry not in label\.csv.*JDM01_0002/);
  });

  it('names the file and sample when a feature has the wrong shape', () => {
    const bad = writeNpy({ dtype: 'float32', shape: [3, 4, 26, 3], data: new Float32Array(3 * 4 * 26 * 3) });
    expect(() => parseMMJDMRelease(memoryFileSource(release({ 'JDM_skeleton_raw.npy': bad })))).toThrow(/JDM_skeleton_raw\.npy: shape \[3, 4, 26, 3\] should be \[N=10/);
  });

  it('reports a corrupt feature file by name', () => {
    const truncated = fixtureBytes('mmjdm', 'JDM01_flow_I3D.npy').slice(0, 300);
    expect(() => parseMMJDMRelease(memoryFileSource(release({ 'JDM01_flow_I3D.npy': truncated })))).toThrow(/JDM01_flow_I3D\.npy/);
  });

  it('rejects a label file without the needed columns, and a missing label file', () => {
    const noScore = new TextEncoder().encode('Sample_Name,Action_Class\nA,1\n');
    expect(() => parseMMJDMRelease(memoryFileSource(release({ 'label.csv': noScore })))).toThrow(/column 'Score' is missing/);
    expect(() => parseMMJDMRelease(memoryFileSource(release({ 'label.csv': undefined })))).toThrow(/label\.csv: not found/);
  });
});
