/**
 * The results folder of a run (runs/<name>/):
 *   config.json        what was run (command, data, model and optimizer settings, seed, device)
 *   metrics.json       per action: test metrics of the best epoch, α (Eq. 20), sizes, history,
 *                      baselines; plus the average over actions
 *   table.md           the per-action table in the form of Table 3 (SRCC×100, rMSE, Acc.) and
 *                      a table of α, sample counts and best epochs
 *   plots/*.svg|png    training curves, predicted vs true, per-grade confusion (and robustness
 *                      curves for the robustness commands)
 */
import type { ActionInfo } from '../data/types.js';
import type { ActionMetrics } from '../train/metrics.js';
import { perActionTable } from '../train/metrics.js';
import type { EpochRecord } from '../train/trainer.js';
import { chartGrid, heatmap, lineChart, PALETTE, scatterPlot, type Series } from './svg.js';

export interface ActionReport {
  action: ActionInfo;
  /** Grade-diversity index α of Eq. (20) over the action's samples (q = its number of grades). */
  alpha: number;
  trainSize: number;
  testSize: number;
  bestEpoch: number;
  metrics: ActionMetrics;
  srccScore: number;
  history: EpochRecord[];
  truth: number[];
  predictions: number[];
  scores: number[];
  confusion: number[][];
  baselines?: ActionMetrics[];
  seconds: number;
}

export interface RunSummary {
  name: string;
  kit: string;
  model: string;
  optimizer: string;
  actions: ActionReport[];
  average: { srcc: number; relativeMSE: number; accuracy: number };
  seconds: number;
}

export function averageMetrics(rows: readonly Pick<ActionMetrics, 'srcc' | 'relativeMSE' | 'accuracy'>[]): { srcc: number; relativeMSE: number; accuracy: number } {
  const n = Math.max(rows.length, 1);
  return {
    srcc: rows.reduce((s, r) => s + r.srcc, 0) / n,
    relativeMSE: rows.reduce((s, r) => s + r.relativeMSE, 0) / n,
    accuracy: rows.reduce((s, r) => s + r.accuracy, 0) / n,
  };
}

const label = (a: ActionInfo): string => (a.name && a.name !== a.id ? `${a.id} ${a.name}` : a.id);

/** Table 3 form (model and baselines as rows) plus the α / sizes table. */
export function runTableMarkdown(summary: RunSummary, methodName = 'DualAlign'): string {
  const rows: ActionMetrics[] = [];
  for (const a of summary.actions) {
    rows.push({ ...a.metrics, method: methodName });
    for (const b of a.baselines ?? []) rows.push(b);
  }
  const lines = [
    `### Test metrics per action (${summary.model})`,
    '',
    perActionTable(rows),
    `${methodName}: the epoch with the best test SRCC (the run keeps that checkpoint, as in the paper's protocol); Constant: the most frequent training grade; Ridge: ridge regression on time-pooled features, regularisation chosen by leave-one-out on the training set.`,
    '',
  ];
  lines.push('### Actions', '', '| Action | α (Eq. 20) | grades | train | test | best epoch | SRCC of expected grade (×100) |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const a of summary.actions) {
    lines.push(`| ${label(a.action)} | ${a.alpha.toFixed(2)} | ${a.action.minGrade}–${a.action.maxGrade} | ${a.trainSize} | ${a.testSize} | ${a.bestEpoch} | ${(a.srccScore * 100).toFixed(2)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Loss, test SRCC×100, rMSE and accuracy per epoch, one series per action. */
export function trainingCurvesSvg(summary: RunSummary): string {
  const series = (pick: (h: EpochRecord) => number | undefined): Series[] =>
    summary.actions.map((a) => ({ name: label(a.action), points: a.history.filter((h) => pick(h) !== undefined).map((h) => [h.epoch, pick(h)!] as [number, number]) }));
  const charts = [
    lineChart({ title: 'Training loss (total)', xLabel: 'epoch', yLabel: 'loss', series: series((h) => h.loss), width: 560, height: 340 }),
    lineChart({ title: 'Test SRCC ×100', xLabel: 'epoch', yLabel: 'SRCC ×100', series: series((h) => h.test.srcc * 100), width: 560, height: 340 }),
    lineChart({ title: 'Test rMSE', xLabel: 'epoch', yLabel: 'rMSE', series: series((h) => h.test.relativeMSE), width: 560, height: 340 }),
    lineChart({ title: 'Test accuracy (%)', xLabel: 'epoch', yLabel: 'accuracy %', series: series((h) => h.test.accuracy), width: 560, height: 340 }),
  ];
  const terms = summary.actions.some((a) => a.history.some((h) => h.vfs !== undefined || h.vit !== undefined));
  if (terms) {
    const termSeries: Series[] = [];
    summary.actions.forEach((a, i) => {
      for (const [k, dash] of [['grade', undefined], ['vfs', '6 3'], ['vit', '2 3']] as const) {
        const pts = a.history.filter((h) => h[k] !== undefined).map((h) => [h.epoch, h[k]!] as [number, number]);
        if (pts.length) termSeries.push({ name: `${a.action.id} L_${k}`, points: pts, dash, color: PALETTE[i % PALETTE.length], markers: false });
      }
    });
    charts.push(lineChart({ title: 'Loss terms (Eq. 3)', xLabel: 'epoch', yLabel: 'loss', series: termSeries, width: 560, height: 340 }));
  }
  return chartGrid(charts, 2, `Training curves — ${summary.name}`);
}

export function predictedVsTrueSvg(summary: RunSummary): string {
  const charts = summary.actions.map((a) =>
    scatterPlot({
      title: `${label(a.action)} (SRCC×100 ${(a.metrics.srcc * 100).toFixed(1)})`,
      xLabel: 'true grade',
      yLabel: 'predicted grade',
      points: a.truth.map((t, i) => ({ x: t, y: a.predictions[i]! })),
      diagonal: true,
      jitter: 0.18,
      yJitter: 0.18,
      domain: [a.action.minGrade, a.action.maxGrade],
      width: 400,
      height: 380,
    }),
  );
  return chartGrid(charts, 3, `Predicted vs true grade (test) — ${summary.name}`);
}

export function confusionSvg(summary: RunSummary): string {
  const charts = summary.actions.map((a) => {
    const grades = Array.from({ length: a.action.maxGrade - a.action.minGrade + 1 }, (_, i) => String(a.action.minGrade + i));
    return heatmap({ title: `${label(a.action)} (Acc ${a.metrics.accuracy.toFixed(1)}%)`, xLabel: 'predicted grade', yLabel: 'true grade', matrix: a.confusion, rowLabels: grades, colLabels: grades, width: 400, height: 380 });
  });
  return chartGrid(charts, 3, `Per-grade confusion (test) — ${summary.name}`);
}

export interface RobustnessPoint {
  rate: number;
  /** Per action and the average. */
  perAction: Record<string, { srcc: number; relativeMSE: number; accuracy: number }>;
  average: { srcc: number; relativeMSE: number; accuracy: number };
}

export interface RobustnessSummary {
  kind: 'missing-modality' | 'missing-label';
  name: string;
  rates: number[];
  points: RobustnessPoint[];
  actions: ActionInfo[];
  note: string;
  /** Missing-modality: which modalities were dropped; repeats averaged. */
  dropped?: string[];
  repeats?: number;
}

export function robustnessSvg(r: RobustnessSummary): string {
  const xLabel = r.kind === 'missing-modality' ? 'missing modality rate' : 'missing label rate';
  const mk = (title: string, yLabel: string, pick: (m: { srcc: number; relativeMSE: number; accuracy: number }) => number): string => {
    const series: Series[] = r.actions.map((a) => ({ name: label(a), points: r.points.map((p) => [p.rate, pick(p.perAction[a.id]!)] as [number, number]), dashed: true }));
    series.push({ name: 'average', points: r.points.map((p) => [p.rate, pick(p.average)] as [number, number]), color: '#000000' });
    return lineChart({ title, xLabel, yLabel, series, width: 520, height: 340, xTicks: r.rates });
  };
  const fig = r.kind === 'missing-modality' ? 'cf. Fig. 14' : 'cf. Fig. 15';
  return chartGrid(
    [mk('(a) SRCC ×100', 'SRCC ×100', (m) => m.srcc * 100), mk('(b) Accuracy (%)', 'accuracy %', (m) => m.accuracy), mk('(c) rMSE', 'rMSE', (m) => m.relativeMSE)],
    3,
    `${r.kind === 'missing-modality' ? 'Missing modalities at inference' : 'Missing labels in training'} (${fig}) — ${r.name}`,
  );
}

export function robustnessMarkdown(r: RobustnessSummary): string {
  const head = `| rate | ${r.actions.map((a) => a.id).join(' | ')} | Avg. |`;
  const sep = `|---:|${r.actions.map(() => '---:').join('|')}|---:|`;
  const block = (title: string, pick: (m: { srcc: number; relativeMSE: number; accuracy: number }) => number, digits: number): string[] => [
    `#### ${title}`,
    '',
    head,
    sep,
    ...r.points.map((p) => `| ${p.rate.toFixed(1)} | ${r.actions.map((a) => pick(p.perAction[a.id]!).toFixed(digits)).join(' | ')} | ${pick(p.average).toFixed(digits)} |`),
    '',
  ];
  const title = r.kind === 'missing-modality' ? 'Missing modalities at inference (Fig. 14)' : 'Missing labels in training (Fig. 15)';
  return [`### ${title}`, '', r.note, '', ...block('SRCC (×100) ↑', (m) => m.srcc * 100, 2), ...block('Acc. (%) ↑', (m) => m.accuracy, 2), ...block('rMSE ↓', (m) => m.relativeMSE, 3)].join('\n');
}
