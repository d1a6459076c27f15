import { describe, expect, it } from 'vitest';
import { MMJDM_ACTIONS } from '../../src/data/mmjdmSpec.js';
import { describeSyntheticSample, generateSyntheticMMJDM, gradeCounts } from '../../src/data/synthetic.js';
import type { Dataset } from '../../src/data/types.js';
import { gradeDiversity, spearman } from '../../src/train/metrics.js';
import { ridgeBaseline } from '../../src/train/baselines.js';

const demo = generateSyntheticMMJDM({ seed: 42, actions: 3 });

function sameData(a: Dataset, b: Dataset): boolean {
  if (a.samples.length !== b.samples.length) return false;
  return a.samples.every((s, i) => {
    const t = b.samples[i]!;
    if (s.id !== t.id || s.grade !== t.grade || s.subject !== t.subject || s.split !== t.split) return false;
    return Object.keys(s.modalities).every((m) => {
      const x = s.modalities[m]!.data;
      const y = t.modalities[m]!.data;
      return x.length === y.length && x.every((v, k) => Object.is(v, y[k]));
    });
  });
}

describe('generateSyntheticMMJDM', () => {
  it('is deterministic for a seed and changes with it', () => {
    expect(sameData(demo, generateSyntheticMMJDM({ seed: 42, actions: 3 }))).toBe(true);
    expect(sameData(demo, generateSyntheticMMJDM({ seed: 43, actions: 3 }))).toBe(false);
  });

  it('generates the default demo (3 actions) well under a second of CPU time', () => {
    // CPU time, not wall time: the test machine is shared, and wall time measures the neighbours.
    const wall = performance.now();
    const cpu = process.cpuUsage();
    generateSyntheticMMJDM({ seed: 7, actions: 3 });
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    console.log(`synthetic demo: 3 actions, ${demo.samples.length} samples, ${cpuMs.toFixed(0)} ms CPU, ${(performance.now() - wall).toFixed(0)} ms wall`);
    expect(cpuMs).toBeLessThan(1000);
  });

  it('lays features out like MM-JDM', () => {
    expect(demo.modalities).toEqual(['video', 'flow', 'skeleton', 'image', 'text']);
    for (const sample of demo.samples) {
      expect(sample.modalities.video!.shape).toEqual([10, 768]);
      expect(sample.modalities.flow!.shape).toEqual([10, 1024]);
      expect(sample.modalities.skeleton!.shape).toEqual([160, 26, 3]);
      expect(sample.modalities.image!.shape).toEqual([103, 512]);
      expect(sample.modalities.text!.shape).toEqual([512]);
      for (const feature of Object.values(sample.modalities)) {
        expect(feature!.data.length).toBe(feature!.shape.reduce((a, b) => a * b, 1));
        expect(feature!.data.every(Number.isFinite)).toBe(true);
      }
    }
    expect(demo.summary.missingModalities).toEqual({ video: 0, flow: 0, skeleton: 0, image: 0, text: 0 });
  });

  it("honours sizes, modalities and the actions option (count, names or ids)", () => {
    const small = generateSyntheticMMJDM({
      seed: 1,
      actions: ['Sit Down', '12'],
      samplesPerAction: 9,
      clips: 4,
      framesPerClip: 8,
      imageFrames: 5,
      joints: 30,
      skeletonChannels: 4,
      dims: { video: 16, flow: 8, image: 12, text: 32 },
      modalities: ['video', 'skeleton', 'text', 'flow', 'image'],
    });
    expect(small.actions.map((a) => a.id)).toEqual(['09', '12']);
    expect(small.samples).toHaveLength(18);
    const s = small.samples[0]!;
    expect(s.modalities.video!.shape).toEqual([4, 16]);
    expect(s.modalities.flow!.shape).toEqual([4, 8]);
    expect(s.modalities.image!.shape).toEqual([5, 12]);
    expect(s.modalities.skeleton!.shape).toEqual([32, 30, 4]);
    expect(s.modalities.text!.shape).toEqual([32]);
    expect(() => generateSyntheticMMJDM({ seed: 1, actions: ['Backflip'] })).toThrow(/unknown action 'Backflip'.*Head Lift/);
    expect(() => generateSyntheticMMJDM({ seed: 1.5 })).toThrow(/seed/);
  });

  it("uses Table 2's actions, grade ranges and scaled sample counts, every grade present", () => {
    const full = generateSyntheticMMJDM({ seed: 3, scale: 1, modalities: ['text'] });
    expect(full.samples).toHaveLength(1639);
    for (const spec of MMJDM_ACTIONS) {
      const info = full.actions.find((a) => a.id === spec.id)!;
      expect(info).toEqual({ id: spec.id, name: spec.name, numGrades: spec.maxGrade + 1, minGrade: 0, maxGrade: spec.maxGrade });
      const grades = full.samples.filter((s) => s.action === spec.id).map((s) => s.grade!);
      expect(grades).toHaveLength(spec.samples);
      expect(new Set(grades)).toEqual(new Set(Array.from({ length: spec.maxGrade + 1 }, (_, g) => g)));
    }
    expect(demo.summary.perAction).toEqual({ '01': 31, '02': 34, '03': 34 });
  });

  it('is imbalanced like Fig. 5, with diversity indices near the paper\'s (Fig. 16)', () => {
    const full = generateSyntheticMMJDM({ seed: 3, scale: 1, modalities: ['text'] });
    const alpha = (id: string): number => {
      const info = full.actions.find((a) => a.id === id)!;
      return gradeDiversity(full.samples.filter((s) => s.action === id).map((s) => s.grade!), info.numGrades);
    };
    expect(alpha('01')).toBeCloseTo(5.82, 0);
    expect(alpha('03')).toBeCloseTo(4.34, 0);
    expect(alpha('12')).toBeCloseTo(1.01, 0);
    const grades04 = full.samples.filter((s) => s.action === '04').map((s) => s.grade!);
    expect(grades04.filter((g) => g === 0).length / grades04.length).toBeGreaterThan(0.7);
  });

  it('splits about 70/30 within each action and grade; subject splits never share subjects', () => {
    for (const action of demo.actions) {
      const samples = demo.samples.filter((s) => s.action === action.id);
      const test = samples.filter((s) => s.split === 'test').length;
      expect(samples.every((s) => s.split === 'train' || s.split === 'test')).toBe(true);
      expect(test / samples.length).toBeGreaterThan(0.2);
      expect(test / samples.length).toBeLessThan(0.4);
    }
    const bySubject = generateSyntheticMMJDM({ seed: 5, actions: 2, splitBy: 'subject', modalities: ['text'] });
    const trainSubjects = new Set(bySubject.samples.filter((s) => s.split === 'train').map((s) => s.subject));
    const testSubjects = new Set(bySubject.samples.filter((s) => s.split === 'test').map((s) => s.subject));
    expect([...testSubjects].some((s) => trainSubjects.has(s))).toBe(false);
    expect(testSubjects.size).toBeGreaterThan(0);
  });

  it('makes the text carry no grade information', () => {
    const ds = generateSyntheticMMJDM({ seed: 11, actions: 4, samplesPerAction: 60, modalities: ['text'], subjects: 5 });
    const textOf = new Map<string, Float32Array>();
    let compared = 0;
    for (const s of ds.samples) {
      const key = `${s.action}/${s.subject}`;
      const previous = textOf.get(key);
      if (previous) {
        expect(Array.from(s.modalities.text!.data)).toEqual(Array.from(previous));
        compared++;
      } else textOf.set(key, s.modalities.text!.data);
    }
    expect(compared).toBeGreaterThan(100);
    // Within (action, subject) groups, samples span several grades with one text.
    const grades = new Set(ds.samples.filter((s) => s.action === '01' && s.subject === 'S01').map((s) => s.grade));
    expect(grades.size).toBeGreaterThan(1);
    const text = describeSyntheticSample(MMJDM_ACTIONS[0]!, { age: 9, girl: true });
    expect(text).toBe('This is the action of head lift. Lying on the back, the child lifts the head off the mat and holds it up. The subject of the video is a 9-year-old girl with juvenile dermatomyositis.');
    expect(text).not.toMatch(/grade|score|severe|mild|weak|good|poor/i);
  });

  it('moves the skeleton smoothly, the movement size being a nuisance rather than the grade', () => {
    const ds = generateSyntheticMMJDM({ seed: 9, actions: ['08'], samplesPerAction: 120, modalities: ['skeleton'] });
    const wrist = 9;
    const ranges: number[] = [];
    for (const s of ds.samples) {
      const { data, shape } = s.modalities.skeleton!;
      const [frames, joints, channels] = shape as [number, number, number];
      const y = Array.from({ length: frames }, (_, t) => data[(t * joints + wrist) * channels + 1]!);
      ranges.push(Math.max(...y) - Math.min(...y));
      // Confidence stays a probability.
      for (let t = 0; t < frames; t += 17) expect(data[(t * joints + wrist) * channels + 2]).toBeGreaterThanOrEqual(0);
      // Smooth: frame-to-frame steps are small next to the movement range.
      let step = 0;
      for (let t = 1; t < frames; t++) step = Math.max(step, Math.abs(y[t]! - y[t - 1]!));
      expect(step).toBeLessThan(0.5 * (Math.max(...y) - Math.min(...y)) + 30);
    }
    expect(Math.abs(spearman(ranges, ds.samples.map((s) => s.grade!)))).toBeLessThan(0.3);
  });

  it('carries the grade in per-frame swings that averaging over time cancels', () => {
    const ds = generateSyntheticMMJDM({ seed: 9, actions: ['01', '03'], scale: 1, framesPerClip: 1, imageFrames: 8 });
    // How far the video frames swing around their time mean: strongly (negatively) tied to the grade.
    const swing = ds.samples.map((s) => {
      const { data, shape } = s.modalities.video!;
      const [T, D] = shape as [number, number];
      let v = 0;
      for (let c = 0; c < D; c++) {
        let m = 0;
        for (let t = 0; t < T; t++) m += data[t * D + c]! / T;
        for (let t = 0; t < T; t++) v += (data[t * D + c]! - m) ** 2;
      }
      return v;
    });
    expect(spearman(swing, ds.samples.map((s) => s.grade!))).toBeLessThan(-0.6);
    // A linear model on time-mean features is weak; given the swing (std pooling) it is strong.
    const meanPooled = ds.actions.map((action) => {
      const train = ds.samples.filter((s) => s.action === action.id && s.split === 'train');
      const test = ds.samples.filter((s) => s.action === action.id && s.split === 'test');
      expect(ridgeBaseline(action, train, test, { modalities: ds.modalities, pooling: 'mean+std' }).metrics.srcc).toBeGreaterThan(0.7);
      return ridgeBaseline(action, train, test, { modalities: ds.modalities }).metrics.srcc;
    });
    expect(Math.abs(meanPooled[0]! + meanPooled[1]!) / 2).toBeLessThan(0.25);
  });

  it('generator v2: same layout, grades and splits as v1; deterministic; unknown generators rejected', () => {
    const v2 = generateSyntheticMMJDM({ seed: 42, actions: 3, generator: 'v2' });
    expect(sameData(v2, generateSyntheticMMJDM({ seed: 42, actions: 3, generator: 'v2' }))).toBe(true);
    expect(sameData(v2, demo)).toBe(false);
    expect(v2.modalities).toEqual(demo.modalities);
    v2.samples.forEach((s, i) => {
      const t = demo.samples[i]!;
      expect([s.id, s.grade, s.subject, s.split]).toEqual([t.id, t.grade, t.subject, t.split]);
      for (const m of v2.modalities) {
        expect(s.modalities[m]!.shape).toEqual(t.modalities[m]!.shape);
        expect(s.modalities[m]!.data.every(Number.isFinite)).toBe(true);
      }
    });
    expect(() => generateSyntheticMMJDM({ seed: 1, generator: 'v3' as never })).toThrow(/unknown generator 'v3'/);
  });

  it('generator v2: no time-pooled statistic, of all modalities or of any one, recovers the grade', () => {
    const ds = generateSyntheticMMJDM({ seed: 9, actions: ['01', '03'], scale: 1, framesPerClip: 1, imageFrames: 8, generator: 'v2' });
    const srcc = (modalities: string[]) =>
      ds.actions.map((action) => {
        const train = ds.samples.filter((s) => s.action === action.id && s.split === 'train');
        const test = ds.samples.filter((s) => s.action === action.id && s.split === 'test');
        return ridgeBaseline(action, train, test, { modalities, pooling: 'mean+std' }).metrics.srcc;
      });
    const all = srcc(ds.modalities);
    expect(Math.abs(all[0]! + all[1]!) / 2).toBeLessThan(0.25);
    for (const m of ['video', 'flow', 'skeleton', 'image']) {
      const one = srcc([m]);
      expect(Math.abs(one[0]! + one[1]!) / 2, m).toBeLessThan(0.3);
    }
  });

  it('splits sample counts over grades without losing any', () => {
    expect(gradeCounts([1, 1, 1], 10)).toEqual([4, 3, 3]);
    expect(gradeCounts([100, 1], 5)).toEqual([4, 1]);
    expect(gradeCounts([5, 3, 2], 2)).toEqual([1, 1, 0]);
  });
});
