import { describe, expect, it } from 'vitest';
import {
  accuracy,
  actionMetrics,
  averageRanks,
  gradeDiversity,
  mse,
  pearson,
  pearsonResult,
  perActionTable,
  relativeMSE,
  roundToGrade,
  spearman,
  spearmanResult,
  type ActionMetrics,
} from '../../src/train/metrics.js';
import { fixtureJson } from './fixtures.js';

interface GoldenCase {
  name: string;
  pred: number[];
  truth: number[];
  spearman: number | null;
  pearson: number | null;
  mse: number;
}
const golden = fixtureJson<{ cases: GoldenCase[] }>('metrics', 'golden.json');

describe('metrics against scipy.stats', () => {
  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const rho = spearmanResult(c.pred, c.truth);
    if (c.spearman === null) expect(rho).toEqual({ value: 0, defined: false });
    else {
      expect(rho.defined).toBe(true);
      expect(rho.value).toBeCloseTo(c.spearman, 12);
    }
    const r = pearsonResult(c.pred, c.truth);
    if (c.pearson === null) expect(r.defined).toBe(false);
    else expect(r.value).toBeCloseTo(c.pearson, 12);
    expect(mse(c.pred, c.truth)).toBeCloseTo(c.mse, 12);
  });
});

describe('rank correlation details', () => {
  it('gives ties the average of their ranks', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5, 20]))).toEqual([2, 4, 4, 1, 4]);
  });

  it('returns 0 with defined=false for constant input and fewer than two pairs', () => {
    expect(spearman([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(spearmanResult([1], [1]).defined).toBe(false);
    expect(pearson([2, 2], [1, 3])).toBe(0);
  });

  it('rejects mismatched lengths and non-finite values', () => {
    expect(() => spearman([1, 2], [1])).toThrow(/2 predictions but 1 targets/);
    expect(() => spearman([1, NaN], [1, 2])).toThrow(/prediction 1 is NaN/);
  });
});

describe('relativeMSE (Eq. 18) and accuracy (Eq. 19)', () => {
  it('scales squared error by the grade range and by 100', () => {
    // errors 1 and 0 over a 0..4 range: mean((1/4)^2, 0) * 100 = 3.125
    expect(relativeMSE([1, 2], [0, 2], 0, 4)).toBeCloseTo(3.125, 12);
    expect(relativeMSE([3, 3], [3, 3], 0, 3)).toBe(0);
    expect(() => relativeMSE([1], [1], 2, 2)).toThrow(/range/);
  });

  it('counts exact grade matches in percent', () => {
    expect(accuracy([0, 1, 2, 3], [0, 1, 1, 3])).toBe(75);
    expect(roundToGrade(2.6, 0, 2)).toBe(2);
    expect(roundToGrade(-0.4, 0, 2)).toBe(0);
  });

  it('combines the three per action, rounding only for accuracy', () => {
    const m = actionMetrics('01', [0.2, 1.6, 2.9], [0, 1, 2], 0, 2); // rounds to 0, 2, 2 (clamped)
    expect(m.accuracy).toBeCloseTo(200 / 3, 10);
    expect(m.srcc).toBe(1);
    expect(m.relativeMSE).toBeCloseTo(((0.04 + 0.36 + 0.81) / 3 / 4) * 100, 10);
  });
});

describe('grade diversity alpha (Eq. 20)', () => {
  it('matches hand-computed values', () => {
    // Uniform over q grades gives exactly q.
    expect(gradeDiversity([0, 1, 2, 3, 4, 5])).toBeCloseTo(6, 12);
    expect(gradeDiversity([0, 0, 1, 1])).toBeCloseTo(2, 12);
    // p = (1/2, 1/4, 1/4), q = 3: alpha = 3 * 1.5 ln 2 / ln 3
    expect(gradeDiversity([0, 0, 1, 2])).toBeCloseTo((3 * 1.5 * Math.LN2) / Math.log(3), 12);
    // The same distribution counted over a 5-grade range (two grades never observed).
    expect(gradeDiversity([0, 0, 1, 2], 5)).toBeCloseTo((5 * 1.5 * Math.LN2) / Math.log(5), 12);
    expect(gradeDiversity([3, 3, 3])).toBe(0);
  });

  it('refuses fewer categories than observed grades', () => {
    expect(() => gradeDiversity([0, 1, 2], 2)).toThrow(/categories/);
  });
});

describe('perActionTable', () => {
  // The "Ours" row of the paper's Table 3.
  const srcc = [93.81, 92.38, 81.03, 90.44, 87.87, 82.8, 85.29, 78.15, 90.17, 70.56, 72.77, 100.0];
  const rmse = [1.333, 1.25, 3.594, 2.976, 3.353, 5.128, 1.316, 1.201, 3.216, 4.464, 0.521, 0.0];
  const acc = [91.67, 95.0, 72.5, 88.1, 87.93, 64.1, 97.37, 94.74, 86.84, 76.19, 94.44, 100.0];
  const rows: ActionMetrics[] = srcc.map((s, i) => ({
    action: String(i + 1).padStart(2, '0'),
    method: 'Ours',
    srcc: s / 100,
    relativeMSE: rmse[i]!,
    accuracy: acc[i]!,
  }));

  it("reproduces Table 3's averages for the paper's own per-action numbers", () => {
    const table = perActionTable(rows);
    const lines = table.trim().split('\n');
    expect(lines[0]).toBe('| Metric | Method | 01 | 02 | 03 | 04 | 05 | 06 | 07 | 08 | 09 | 10 | 11 | 12 | Avg. |');
    expect(lines[2]).toMatch(/^\| SRCC \(×100\) ↑ \| Ours \| 93\.81 \| .* \| 100\.00 \| 85\.44 \|$/);
    expect(lines[3]).toMatch(/^\| rMSE ↓ \| Ours \| 1\.333 \| .* \| 0\.000 \| 2\.363 \|$/);
    expect(lines[4]).toMatch(/^\| Acc\. \(%\) ↑ \| Ours \| 91\.67 \| .* \| 100\.00 \| 87\.41 \|$/);
  });

  it('puts several methods in each metric block, marks undefined SRCC and missing cells', () => {
    const table = perActionTable([
      { action: '01', method: 'A', srcc: 0.5, relativeMSE: 1, accuracy: 50 },
      { action: '02', method: 'A', srcc: 0, srccDefined: false, relativeMSE: 2, accuracy: 60 },
      { action: '01', method: 'B', srcc: 0.7, relativeMSE: 0.5, accuracy: 70 },
    ]);
    expect(table).toContain('| SRCC (×100) ↑ | A | 50.00 | 0.00† | 25.00 |');
    expect(table).toContain('| SRCC (×100) ↑ | B | 70.00 | – | 70.00 |');
    expect(table).toContain('† SRCC undefined');
    expect(() => perActionTable([rows[0]!, rows[0]!])).toThrow(/two rows/);
  });
});
