// SVG/PNG report generators and atomic writes: host-only, fast.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartGrid, heatmap, lineChart, niceTicks, scatterPlot } from '../../src/report/svg.js';
import { svgToPng, writeFigure } from '../../src/report/png.js';
import { robustnessMarkdown, robustnessSvg, runTableMarkdown, type RunSummary } from '../../src/report/report.js';
import { writeFileAtomic } from '../../src/io/atomic.node.js';

const action = { id: '01', name: 'Head Lift', minGrade: 0, maxGrade: 2, numGrades: 3 };

describe('svg charts', () => {
  it('nice ticks cover the range', () => {
    const t = niceTicks(0.13, 0.87, 5);
    expect(t[0]).toBeLessThanOrEqual(0.13);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(0.87);
    expect(niceTicks(3, 3).length).toBeGreaterThan(1);
  });

  it('line chart, scatter, heatmap and grid are well-formed SVG that resvg renders', () => {
    const line = lineChart({ title: 'loss <&>', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'a', points: [[1, 2], [2, 1.5], [3, NaN]] }, { name: 'b', points: [[1, 1], [2, 0.5]] }] });
    expect(line).toContain('&lt;&amp;&gt;');
    expect(line).not.toContain('NaN');
    const scatter = scatterPlot({ title: 's', xLabel: 'true', yLabel: 'pred', points: [{ x: 0, y: 1 }, { x: 2, y: 2 }], diagonal: true, jitter: 0.2, yJitter: 0.2 });
    const heat = heatmap({ title: 'c', xLabel: 'p', yLabel: 't', matrix: [[3, 1], [0, 2]], rowLabels: ['0', '1'], colLabels: ['0', '1'] });
    const grid = chartGrid([line, scatter, heat], 2, 'all');
    for (const svg of [line, scatter, heat, grid]) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
    }
    const png = svgToPng(grid, 1);
    expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  it('run and robustness reports', () => {
    const history = [1, 2].map((epoch) => ({ epoch, loss: 3 - epoch, grade: 1, vfs: 0.5, vit: 0.4, lr: 0.01, test: { srcc: 0.1 * epoch, srccDefined: true, relativeMSE: 5, accuracy: 50, srccScore: 0.2 }, seconds: 1 }));
    const summary: RunSummary = {
      name: 'r',
      kit: 'dualalign',
      model: 'm',
      optimizer: 'o',
      seconds: 1,
      average: { srcc: 0.2, relativeMSE: 5, accuracy: 50 },
      actions: [{ action, alpha: 1.5, trainSize: 10, testSize: 4, bestEpoch: 2, metrics: { action: '01', srcc: 0.2, srccDefined: true, relativeMSE: 5, accuracy: 50, n: 4 }, srccScore: 0.3, history, truth: [0, 1, 2, 2], predictions: [0, 1, 1, 2], scores: [0.1, 1, 1.2, 1.9], confusion: [[1, 0, 0], [0, 1, 0], [0, 1, 1]], baselines: [{ action: '01', method: 'Constant', srcc: 0, srccDefined: false, relativeMSE: 9, accuracy: 25 }], seconds: 1 }],
    };
    const md = runTableMarkdown(summary);
    expect(md).toContain('| SRCC (×100) ↑ | DualAlign | 20.00 |');
    expect(md).toContain('| SRCC (×100) ↑ | Constant | 0.00† |');
    expect(md).toContain('| 01 Head Lift | 1.50 |');
    const rob = { kind: 'missing-modality' as const, name: 'r', rates: [0, 0.5], actions: [action], note: 'n', points: [0, 0.5].map((rate) => ({ rate, perAction: { '01': { srcc: 0.5 - rate, relativeMSE: 2, accuracy: 60 } }, average: { srcc: 0.5 - rate, relativeMSE: 2, accuracy: 60 } })) };
    expect(robustnessMarkdown(rob)).toContain('| 0.5 | 0.00 | 0.00 |');
    expect(robustnessSvg(rob)).toContain('Fig. 14');
    const dir = mkdtempSync(join(tmpdir(), 'report-'));
    const files = writeFigure(join(dir, 'fig'), robustnessSvg(rob));
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['fig.svg', 'fig.png']);
  });
});

describe('atomic writes', () => {
  it('replace the file whole and leave the old one when the write fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
    const path = join(dir, 'a.bin');
    writeFileAtomic(path, 'first');
    writeFileAtomic(path, 'second');
    expect(readFileSync(path, 'utf8')).toBe('second');
    // A directory in the way: the rename fails; no temporary file is left behind.
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, 'x'), { recursive: true });
    expect(() => writeFileAtomic(blocked, 'data')).toThrow();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(path, 'utf8')).toBe('second');
    writeFileSync(join(dir, 'keep'), 'k');
    expect(existsSync(join(dir, 'keep'))).toBe(true);
  });
});
