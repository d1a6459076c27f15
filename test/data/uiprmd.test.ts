import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryFileSource } from '../../src/data/dataset.js';
import type { Dataset, FeatureArray, Sample } from '../../src/data/types.js';
import { dualAlignKit } from '../../src/train/dualalignKit.js';
import {
  UIPRMD_EDGES,
  UIPRMD_JOINT_NAMES,
  UIPRMD_JOINT_PARENTS,
  parseNumericCsv,
  parseUIPRMD,
  resampleRows,
  subjectFolds,
  uiprmdForwardKinematics,
} from '../../src/data/uiprmd.js';
import { defaultUIPRMDDir, isUIPRMDAvailable, loadUIPRMD } from '../../src/data/uiprmd.node.js';
import { crossValidate, crossValidationTable, meanStd, subjectFoldsOf, type CrossValidationResult, type MethodResult } from '../../src/train/crossval.js';

const dir = defaultUIPRMDDir();
const available = isUIPRMDAvailable(dir);

/** Std of a joint's height over a repetition. */
function heightStd(dataset: Dataset, joint: number): number {
  let total = 0;
  for (const s of dataset.samples) {
    const { data, shape } = s.modalities.positions!;
    const frames = shape[0]!;
    const ys = Array.from({ length: frames }, (_, t) => data[(t * 22 + joint) * 3 + 1]!);
    const mean = ys.reduce((a, b) => a + b, 0) / frames;
    total += Math.sqrt(ys.reduce((a, b) => a + (b - mean) ** 2, 0) / frames);
  }
  return total / dataset.samples.length;
}

describe('UI-PRMD skeleton tree', () => {
  it('defines 22 joints, a parent for each, and 21 bones', () => {
    expect(UIPRMD_JOINT_NAMES).toHaveLength(22);
    expect(UIPRMD_JOINT_PARENTS).toHaveLength(22);
    expect(UIPRMD_JOINT_PARENTS.filter((p) => p < 0)).toEqual([-1]);
    UIPRMD_JOINT_PARENTS.forEach((p, j) => expect(p).toBeLessThan(j));
    expect(UIPRMD_EDGES).toHaveLength(21);
    expect(UIPRMD_EDGES).toContainEqual([2, 6]); // chest -> left collar
    expect(UIPRMD_EDGES).toContainEqual([0, 18]); // waist -> right upper leg
  });

  it('forward kinematics: zero angles add offsets up the tree; rotations keep bone lengths', () => {
    const offsets = new Float64Array(66);
    for (let j = 1; j < 22; j++) offsets.set([j, 2 * j, -j], 3 * j);
    offsets.set([100, 50, -200], 0);
    const still = uiprmdForwardKinematics(offsets, new Float64Array(66), 1);
    // Head (4) = waist + spine + chest + neck + head offsets.
    const expectedHead = [1, 2, 3, 4].reduce((acc, j) => [acc[0]! + j, acc[1]! + 2 * j, acc[2]! - j], [100, 50, -200]);
    expect(Array.from(still.subarray(12, 15))).toEqual(expectedHead);
    const angles = new Float64Array(66).map((_, i) => ((i * 37) % 90) - 45);
    for (const variant of ['zxy', 'zyx', 'authors'] as const) {
      const posed = uiprmdForwardKinematics(offsets, angles, 1, variant);
      for (const [parent, child] of UIPRMD_EDGES) {
        const bone = Math.hypot(...[0, 1, 2].map((c) => posed[3 * child + c]! - posed[3 * parent + c]!));
        expect(bone).toBeCloseTo(Math.hypot(child, 2 * child, child), 9);
      }
    }
  });

  it('resamples to a fixed length, keeping the ends and unwrapping angles', () => {
    const rows = new Float64Array([0, 170, 10, -170, 20, 170]); // 3 frames x 2 columns
    const out = resampleRows(rows, 3, 2, 5, true);
    expect(Array.from(out.filter((_, i) => i % 2 === 0))).toEqual([0, 5, 10, 15, 20]);
    // 170 -> -170 is a 20-degree step across the seam, not a 340-degree sweep.
    expect(Array.from(out.filter((_, i) => i % 2 === 1)).map((v) => Math.round(v))).toEqual([170, -180, -170, -180, 170]); // wrapped into [-180, 180)
  });
});

describe('parseNumericCsv', () => {
  it('agrees with Number() on decimal fields', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 9 })), { minLength: 3, maxLength: 30 }), (cells) => {
        const fields = cells.slice(0, cells.length - (cells.length % 3)).map(([v, d]) => v.toFixed(d));
        if (fields.length === 0) return;
        const text = fields.map((f, i) => f + ((i + 1) % 3 === 0 ? '\n' : ',')).join('');
        const { data, rows } = parseNumericCsv(text, 3, 'x');
        expect(rows).toBe(fields.length / 3);
        expect(Array.from(data)).toEqual(fields.map(Number));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts exponents and CRLF, rejects bad fields and ragged rows', () => {
    expect(Array.from(parseNumericCsv('1e3,-2.5E-1\r\n.5,-0\r\n', 2, 'x').data)).toEqual([1000, -0.25, 0.5, -0]);
    expect(() => parseNumericCsv('1,2\n3\n', 2, 'f.txt')).toThrow(/f\.txt: line 2.*1 values, expected 2/);
    expect(() => parseNumericCsv('1,abc\n', 2, 'f.txt')).toThrow(/'abc' is not a number/);
    expect(() => parseNumericCsv('1,,2\n', 3, 'f.txt')).toThrow(/not a number/);
    expect(() => parseNumericCsv('1,2,3\n', 2, 'f.txt')).toThrow(/more than 2 values/);
    expect(() => parseNumericCsv('1,2x\n', 2, 'f.txt')).toThrow(/unexpected character 'x'/);
  });
});

describe('UI-PRMD loader on an in-memory layout', () => {
  const row = (v: number): string => new Array(66).fill(v).join(',');
  const enc = (text: string): Uint8Array => new TextEncoder().encode(text);
  const layout = (extra: Record<string, Uint8Array | undefined> = {}): Map<string, Uint8Array> => {
    const files = new Map<string, Uint8Array>([
      ['correct/positions/m01_s01_e01_positions.txt', enc(`${row(1)}\n${row(2)}\n${row(3)}\n`)],
      ['correct/angles/m01_s01_e01_angles.txt', enc(`${row(0)}\n${row(0)}\n${row(0)}\n`)],
      ['incorrect/positions/m01_s01_e01_positions_inc.txt', enc(`${row(1)}\n${row(1)}\n`)],
      ['incorrect/angles/m01_s01_e01_angles_inc.txt', enc(`${row(0)}\n${row(0)}\n`)],
    ]);
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) files.delete(k);
      else files.set(k, v);
    }
    return files;
  };

  it('builds samples, labels and modalities', () => {
    const ds = parseUIPRMD(memoryFileSource(layout(), 'ui'));
    expect(ds.samples.map((s) => [s.id, s.action, s.subject, s.grade])).toEqual([
      ['m01_s01_e01', 'm01', 's01', 1],
      ['m01_s01_e01_inc', 'm01', 's01', 0],
    ]);
    expect(ds.samples[0]!.modalities.positions!.shape).toEqual([3, 22, 3]);
    expect(ds.samples[1]!.modalities.angles!.shape).toEqual([2, 22, 3]);
    expect(ds.actions).toEqual([{ id: 'm01', name: 'deep squat', numGrades: 2, minGrade: 0, maxGrade: 1 }]);
  });

  it('names the file and sample when angles are missing or frame counts differ', () => {
    expect(() => parseUIPRMD(memoryFileSource(layout({ 'correct/angles/m01_s01_e01_angles.txt': undefined }), 'ui'))).toThrow(/ui\/correct\/angles\/m01_s01_e01_angles\.txt: file not found/);
    const short = enc(`${row(0)}\n${row(0)}\n`);
    expect(() => parseUIPRMD(memoryFileSource(layout({ 'correct/angles/m01_s01_e01_angles.txt': short }), 'ui'))).toThrow(/m01_s01_e01_positions\.txt \(sample 'm01_s01_e01'\): 3 frames, but .* has 2/);
    const ragged = enc(`${row(0)},7\n`);
    expect(() => parseUIPRMD(memoryFileSource(layout({ 'incorrect/angles/m01_s01_e01_angles_inc.txt': ragged }), 'ui'))).toThrow(/sample 'm01_s01_e01_inc'.*more than 66 values/);
  });

  it('warns about unexpected file names instead of dropping them silently', () => {
    const ds = parseUIPRMD(memoryFileSource(layout({ 'correct/positions/notes.txt': enc('x') }), 'ui'));
    expect(ds.summary.warnings).toEqual(['correct/positions/notes.txt: not a UI-PRMD positions file name; skipped']);
  });
});

if (!available) {
  describe('UI-PRMD real data', () => {
    it.skip(`skipped: UI-PRMD not found at ${dir} (set DUALALIGN_UIPRMD_DIR to run these tests)`, () => {});
  });
}

describe.skipIf(!available)('UI-PRMD real data', () => {
  let all: Dataset;
  beforeAll(() => {
    all = loadUIPRMD(dir); // ~2-5 s; more on a busy machine
  }, 120_000);

  it('has 10 exercises x 10 subjects x 10 repetitions x correct/incorrect', () => {
    expect(all.samples).toHaveLength(2000);
    expect(all.summary.warnings).toEqual([]);
    expect(all.actions.map((a) => a.id)).toEqual(['m01', 'm02', 'm03', 'm04', 'm05', 'm06', 'm07', 'm08', 'm09', 'm10']);
    for (const action of all.actions) {
      const samples = all.samples.filter((s) => s.action === action.id);
      expect(samples).toHaveLength(200);
      expect(samples.filter((s) => s.grade === 1)).toHaveLength(100);
      expect(new Set(samples.map((s) => s.subject)).size).toBe(10);
    }
    expect(new Set(all.samples.map((s) => s.id)).size).toBe(2000);
    expect(all.summary.missingModalities).toEqual({ positions: 0, angles: 0, text: 0 });
  });

  it('reads the recorded values and produces [T, 22, 3] sequences', () => {
    const first = all.samples.find((s) => s.id === 'm01_s01_e01')!;
    // The waist is absolute: the first three numbers of the file.
    expect(Array.from(first.modalities.positions!.data.subarray(0, 3))).toEqual([-3.5028, 85.59755, -235.88153].map(Math.fround));
    expect(Array.from(first.modalities.angles!.data.subarray(0, 3))).toEqual([-3.31472, -3.79866, -2.31144].map(Math.fround));
    const frames = all.samples.map((s) => s.modalities.positions!.shape[0]!);
    expect(Math.min(...frames)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...frames)).toBeLessThanOrEqual(300);
    for (const s of all.samples) expect(s.modalities.positions!.shape.slice(1)).toEqual([22, 3]);
  });

  it('keeps the feet on the floor during deep squats (the reason for the default Euler order)', () => {
    const squats = { exercises: ['m01'], subjects: ['s01', 's02', 's03'], modalities: ['positions' as const] };
    const zxy = heightStd(loadUIPRMD(dir, squats), 16);
    const zyx = heightStd(loadUIPRMD(dir, { ...squats, kinematics: 'zyx' }), 16);
    expect(zxy).toBeLessThan(8);
    expect(zxy).toBeLessThan(zyx / 2);
    // The waist drops in a squat; the head stays above it.
    const squat = all.samples.find((s) => s.id === 'm01_s01_e01')!.modalities.positions!;
    const ys = (j: number): number[] => Array.from({ length: squat.shape[0]! }, (_, t) => squat.data[(t * 22 + j) * 3 + 1]!);
    expect(Math.max(...ys(0)) - Math.min(...ys(0))).toBeGreaterThan(30);
    ys(4).forEach((headY, t) => expect(headY).toBeGreaterThan(ys(0)[t]!));
  });

  it('filters exercises and subjects, resamples to a fixed length, embeds one text per exercise', () => {
    const some = loadUIPRMD(dir, { exercises: [7, 'm08'], subjects: ['s03'], maxFramesResample: 64 });
    expect(some.samples).toHaveLength(40);
    expect(some.samples.every((s) => s.modalities.positions!.shape[0] === 64 && s.modalities.angles!.shape[0] === 64)).toBe(true);
    const text = (id: string): number[] => Array.from(some.samples.find((s) => s.action === id)!.modalities.text!.data);
    for (const s of some.samples) expect(Array.from(s.modalities.text!.data)).toEqual(text(s.action));
    expect(text('m07')).not.toEqual(text('m08'));
    const original = all.samples.find((s) => s.id === some.samples[0]!.id)!;
    expect(Array.from(some.samples[0]!.modalities.positions!.data.subarray(0, 66))).toEqual(Array.from(original.modalities.positions!.data.subarray(0, 66)));
  });

  it('makes subject-wise folds that never put a subject on both sides', () => {
    const folds = subjectFolds(all, 5);
    expect(folds).toHaveLength(5);
    const tested = folds.flatMap((f) => f.testSubjects).sort();
    expect(tested).toEqual(['s01', 's02', 's03', 's04', 's05', 's06', 's07', 's08', 's09', 's10']);
    for (const fold of folds) {
      const train = new Set(fold.train.map((s) => s.subject));
      expect(fold.testSubjects.some((s) => train.has(s))).toBe(false);
      expect(fold.train.length + fold.test.length).toBe(2000);
      expect(fold.test).toHaveLength(400);
    }
    expect(subjectFolds(all, 10).every((f) => f.testSubjects.length === 1)).toBe(true);
    expect(() => subjectFolds(all, 11)).toThrow(/2\.\.10/);
    expect(() => subjectFolds({ samples: [{ id: 'x', action: 'a', modalities: {} }] }, 2)).toThrow(/sample 'x' has no subject/);
  });
});

describe('subject-wise folds (no data needed)', () => {
  it('never share a subject and test every subject exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1000 }), (subjects, perSubject, salt) => {
        const samples = Array.from({ length: subjects * perSubject }, (_, i) => ({
          id: `x${i}`,
          action: 'm01',
          subject: `s${String(((i % subjects) * 7 + salt) % 97).padStart(2, '0')}`,
          grade: i % 2,
          modalities: {},
        }));
        const distinct = [...new Set(samples.map((s) => s.subject))].sort();
        for (let k = 2; k <= distinct.length; k++) {
          const folds = subjectFoldsOf(samples, k);
          expect(folds).toHaveLength(k);
          expect(folds.flatMap((f) => f.testSubjects).sort()).toEqual(distinct);
          for (const f of folds) {
            const train = new Set(f.train.map((s) => s.subject));
            expect(f.test.every((s) => !train.has(s.subject) && f.testSubjects.includes(s.subject!))).toBe(true);
            expect(f.train.length + f.test.length).toBe(samples.length);
            expect(f.test.length).toBeGreaterThan(0);
          }
        }
        expect(() => subjectFoldsOf(samples, distinct.length + 1)).toThrow(/k must be an integer in 2\.\./);
      }),
      { numRuns: 60 },
    );
  });
});

describe('cross-validation table', () => {
  const action = { id: 'm01', name: 'deep squat', numGrades: 2, minGrade: 0, maxGrade: 1 };
  const method = (name: string, accs: number[]): MethodResult => ({
    method: name,
    folds: [],
    accuracy: meanStd(accs),
    srcc: meanStd(accs.map((a) => a / 100)),
    pooled: undefined as never,
    seconds: 0,
  });
  const result = (id: string, accs: Record<string, number[]>, protocol: 'fixed' | 'best-test' = 'fixed'): CrossValidationResult => ({
    action: { ...action, id },
    protocol,
    folds: [{ fold: 0, testSubjects: ['s01'], metrics: undefined as never, bestEpoch: 1 }, { fold: 1, testSubjects: ['s02'], metrics: undefined as never, bestEpoch: 1 }],
    metrics: undefined as never,
    srccScore: 0,
    truth: [],
    predictions: [],
    scores: [],
    methods: Object.entries(accs).map(([m, a]) => method(m, a)),
    seconds: 0,
  });

  it('mean ± std across folds per exercise, and the mean over exercises', () => {
    expect(meanStd([50, 100])).toEqual({ mean: 75, std: 25 });
    const table = crossValidationTable([result('m01', { Constant: [50, 50], DualAlign: [90, 100] }), result('m02', { Constant: [50, 40], DualAlign: [80, 80] })]);
    const lines = table.split('\n');
    expect(lines[0]).toBe('| Exercise | Constant Acc. (%) | DualAlign Acc. (%) |');
    expect(lines[2]).toBe('| m01 deep squat | 50.0 ± 0.0 | 95.0 ± 5.0 |');
    expect(lines[3]).toBe('| m02 deep squat | 45.0 ± 5.0 | 80.0 ± 0.0 |');
    expect(lines[4]).toBe('| **Mean over exercises** | **47.5** | **87.5** |');
    expect(table).toMatch(/Subject-wise 2-fold.*fixed number of epochs/);
    expect(crossValidationTable([result('m01', { DualAlign: [90, 100] }, 'best-test')])).toMatch(/best test epoch.*optimistic/);
    expect(crossValidationTable([result('m01', { DualAlign: [90, 100] })], { metric: 'srcc' })).toMatch(/\| 95\.0 ± 5\.0 \|/);
  });

  it('refuses results whose methods differ', () => {
    expect(() => crossValidationTable([result('m01', { A: [1] }), result('m02', { B: [1] })])).toThrow(/m02' has methods B, the first has A/);
    expect(() => crossValidationTable([])).toThrow(/no results/);
  });
});

describe('cross-validation of a skeleton-only DualAlign (the example machinery, on a tiny set)', () => {
  // 4 subjects x 2 grades x 3 repetitions of [8, 22, 3] positions and angles: a correct repetition
  // moves its joints twice as far (same mean pose), so only the temporal spread carries the grade.
  const frames = 8;
  const wave = (seed: number, amp: number): FeatureArray => {
    const data = new Float32Array(frames * 66);
    for (let t = 0; t < frames; t++) for (let k = 0; k < 66; k++) data[t * 66 + k] = (k % 7) + amp * Math.sin((2 * Math.PI * t) / frames + k + seed);
    return { data, shape: [frames, 22, 3] };
  };
  const samples: Sample[] = [];
  for (let s = 1; s <= 4; s++) {
    for (const grade of [0, 1]) {
      for (let e = 1; e <= 3; e++) {
        const seed = s * 10 + e;
        samples.push({ id: `m01_s0${s}_e0${e}${grade ? '' : '_inc'}`, action: 'm01', subject: `s0${s}`, grade, modalities: { positions: wave(seed, grade ? 2 : 1), angles: wave(seed + 1, grade ? 20 : 10), text: { data: new Float32Array(16).fill(0.5), shape: [16] } } });
      }
    }
  }
  const dataset = { samples, actions: [{ id: 'm01', name: 'deep squat', numGrades: 2, minGrade: 0, maxGrade: 1 }], modalities: ['positions', 'angles', 'text'] };
  const model = { d1: 16, d2: 8, d3: 8, heads: 2, gcnChannels: [4], logitScale: 10, dropout: 0 };

  it('trains DualAlign and the baselines on the same subject-wise folds, keeping the last epoch', async () => {
    const r = await crossValidate({
      kit: dualAlignKit, dataset, action: 'm01', folds: 2, epochs: 2, batchSize: 8, seed: 0, preset: 'reference-code', lr: 1e-3,
      modelOverrides: model, baselines: ['constant', 'ridge', 'mlp'], ridgeModalities: ['positions', 'angles'], mlp: { epochs: 2 },
    });
    expect(r.protocol).toBe('fixed');
    expect(r.methods.map((m) => m.method)).toEqual(['Constant', 'Ridge (mean+std)', 'Pooled MLP', 'DualAlign']);
    for (const m of r.methods) expect(m.folds).toHaveLength(2);
    expect(r.folds.map((f) => f.bestEpoch)).toEqual([2, 2]);
    expect(r.folds.flatMap((f) => f.testSubjects).sort()).toEqual(['s01', 's02', 's03', 's04']);
    expect(r.truth).toHaveLength(samples.length);
    expect(r.methods[0]!.accuracy.mean).toBe(50);
    // Ridge on mean AND std over time sees the spread; the mean alone could not.
    expect(r.methods[1]!.pooled.accuracy).toBeGreaterThanOrEqual(90);
    const table = crossValidationTable([r]);
    expect(table).toMatch(/^\| Exercise \| Constant Acc\. \(%\) \| Ridge \(mean\+std\) Acc\. \(%\) \| Pooled MLP Acc\. \(%\) \| DualAlign Acc\. \(%\) \|/);
    expect(table).toMatch(/\| m01 deep squat \| 50\.0 ± 0\.0 \|/);
  });
});
