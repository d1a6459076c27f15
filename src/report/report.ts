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
  /** Training samples held out for model selection (0 for a fixed budget or the paper's protocol). */
  validationSize?: number;
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
  /** Training time of the model on this action (baselines: baselineSeconds, per method). */
  seconds: number;
  baselineSeconds?: Record<string, number>;
}

export interface RunSummary {
  name: string;
  kit: string;
  model: string;
  optimizer: string;
  /** The model's row name (DualAlign, Pooled MLP, ...). */
  method?: string;
  /** How the tested weights were chosen ('validation', 'last', 'test' = the paper's protocol) and in words. */
  select?: 'validation' | 'last' | 'test';
  protocol?: string;
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

/** How each row of a table was obtained (the footnote every results table carries). */
export function protocolNote(methodName: string, select: RunSummary['select'] = 'test', protocol?: string, opts: { baselines?: boolean } = {}): string {
  const how = protocol ?? (select === 'test' ? "epoch selected on the TEST split (the paper's protocol)" : select);
  const warn = select === 'test' ? " **Selected on the test split (the paper's protocol, `--select test`): optimistic, not a held-out estimate.**" : '';
  if (opts.baselines === false) return `${methodName}: ${how}.${warn}`;
  return (
    `${methodName}: ${how}.${warn} Baselines on the same splits: Constant, the most frequent training grade; ` +
    'Ridge (mean+std), ridge regression on the mean and standard deviation over time of every modality, regularisation by leave-one-out on the training split; ' +
    'Pooled MLP and Temporal CNN (the anchor stream only), trained with the same budget and selected the same way.'
  );
}

/** Table 3 form (model and baselines as rows) plus the α / sizes table. */
export function runTableMarkdown(summary: RunSummary, methodName = summary.method ?? 'DualAlign'): string {
  const rows: ActionMetrics[] = [];
  for (const a of summary.actions) {
    rows.push({ ...a.metrics, method: methodName });
    for (const b of a.baselines ?? []) rows.push(b);
  }
  const selected = summary.select === 'last' ? 'epochs' : summary.select === 'test' ? 'epoch selected on TEST' : 'epoch selected on validation';
  const lines = [
    `### Test metrics per action (${summary.model})`,
    '',
    perActionTable(rows),
    protocolNote(methodName, summary.select, summary.protocol),
    '',
  ];
  lines.push('### Actions', '', `| Action | α (Eq. 20) | grades | train (fit) | validation | test | ${selected} | SRCC of expected grade (×100) | seconds |`, '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const a of summary.actions) {
    lines.push(`| ${label(a.action)} | ${a.alpha.toFixed(2)} | ${a.action.minGrade}–${a.action.maxGrade} | ${a.trainSize} | ${a.validationSize ?? 0} | ${a.testSize} | ${a.bestEpoch} | ${(a.srccScore * 100).toFixed(2)} | ${a.seconds.toFixed(1)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Mean ± std over seeds of a method's metrics, per action and for the per-seed average over actions. */
export interface SeedCell {
  srcc: number[];
  relativeMSE: number[];
  accuracy: number[];
}

export interface SeedsSummary {
  name: string;
  seeds: number[];
  select?: RunSummary['select'];
  protocol?: string;
  /** The model's method name first, then the baselines. */
  methods: string[];
  actions: ActionInfo[];
  /** method -> action id (and 'average') -> values, one per seed. */
  cells: Record<string, Record<string, SeedCell>>;
  /** Wall time of each seed's whole run (model and baselines, all actions). */
  secondsPerSeed: number[];
  model: string;
}

export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

/** One seed's rows (every method, every action; `method` and `action` set) for summarizeSeedRows. */
export interface SeedRows {
  actions: ActionInfo[];
  rows: ActionMetrics[];
  seconds: number;
}

/** Mean ± std material per method and action (and the per-seed average over actions) from each seed's rows. */
export function summarizeSeedRows(name: string, perSeed: readonly SeedRows[], seeds: readonly number[], meta: Pick<SeedsSummary, 'select' | 'protocol' | 'model'>): SeedsSummary {
  if (perSeed.length === 0) throw new Error('summarizeSeeds: no runs');
  const methods: string[] = [];
  const cells: SeedsSummary['cells'] = {};
  const push = (m: string, key: string, r: Pick<ActionMetrics, 'srcc' | 'relativeMSE' | 'accuracy'>): void => {
    if (!methods.includes(m)) methods.push(m);
    const c = ((cells[m] ??= {})[key] ??= { srcc: [], relativeMSE: [], accuracy: [] });
    c.srcc.push(r.srcc);
    c.relativeMSE.push(r.relativeMSE);
    c.accuracy.push(r.accuracy);
  };
  for (const seed of perSeed) {
    const perMethod = new Map<string, ActionMetrics[]>();
    for (const r of seed.rows) {
      push(r.method!, r.action, r);
      perMethod.set(r.method!, [...(perMethod.get(r.method!) ?? []), r]);
    }
    for (const [m, rows] of perMethod) push(m, 'average', averageMetrics(rows));
  }
  return { name, seeds: [...seeds], ...meta, methods, actions: perSeed[0]!.actions, cells, secondsPerSeed: perSeed.map((p) => p.seconds) };
}

/** Collects one run per seed into a SeedsSummary (the model's row first, then every baseline row). */
export function summarizeSeeds(name: string, runs: readonly RunSummary[], seeds: readonly number[]): SeedsSummary {
  if (runs.length === 0) throw new Error('summarizeSeeds: no runs');
  const method = runs[0]!.method ?? 'DualAlign';
  const perSeed = runs.map((run) => ({
    actions: run.actions.map((a) => a.action),
    rows: run.actions.flatMap((a) => [{ ...a.metrics, action: a.action.id, method }, ...(a.baselines ?? []).map((b) => ({ ...b, action: a.action.id }))]),
    seconds: run.seconds,
  }));
  return summarizeSeedRows(name, perSeed, seeds, { select: runs[0]!.select, protocol: runs[0]!.protocol, model: runs[0]!.model });
}

/** Table 3 form with mean ± std over seeds in every cell. */
export function seedsTableMarkdown(s: SeedsSummary): string {
  const keys = [...s.actions.map((a) => a.id), 'average'];
  const blocks: Array<{ title: string; pick: (c: SeedCell) => number[]; scale: number; digits: number }> = [
    { title: 'SRCC (×100) ↑', pick: (c) => c.srcc, scale: 100, digits: 1 },
    { title: 'rMSE ↓', pick: (c) => c.relativeMSE, scale: 1, digits: 3 },
    { title: 'Acc. (%) ↑', pick: (c) => c.accuracy, scale: 1, digits: 1 },
  ];
  const lines = [
    `### Test metrics, mean ± std over ${s.seeds.length} seed${s.seeds.length === 1 ? '' : 's'} (${s.seeds.join(', ')}) — ${s.model}`,
    '',
    `| Metric | Method | ${s.actions.map((a) => a.id).join(' | ')} | Avg. |`,
    `|---|---|${s.actions.map(() => '---:').join('|')}|---:|`,
  ];
  for (const b of blocks) {
    for (const m of s.methods) {
      const vals = keys.map((k) => {
        const c = s.cells[m]?.[k];
        if (!c) return '–';
        const { mean, std } = meanStd(b.pick(c).map((v) => v * b.scale));
        return `${mean.toFixed(b.digits)} ± ${std.toFixed(b.digits)}`;
      });
      lines.push(`| ${b.title} | ${m} | ${vals.join(' | ')} |`);
    }
  }
  const t = meanStd(s.secondsPerSeed);
  lines.push('', protocolNote(s.methods[0]!, s.select, s.protocol), `Std over seeds (sample std); undefined SRCC counts as 0. Time per seed (model and baselines, all actions): ${t.mean.toFixed(0)} ± ${t.std.toFixed(0)} s.`);
  return `${lines.join('\n')}\n`;
}

/** Loss, test SRCC×100, rMSE and accuracy per epoch, one series per action. */
export function trainingCurvesSvg(summary: RunSummary): string {
  const series = (pick: (h: EpochRecord) => number | undefined): Series[] =>
    summary.actions.map((a) => ({ name: label(a.action), points: a.history.filter((h) => pick(h) !== undefined).map((h) => [h.epoch, pick(h)!] as [number, number]) }));
  // Per-epoch metrics exist on the split the epoch was selected on: validation, or test under the paper's protocol.
  const on = summary.select === 'test' ? 'Test (selection split)' : 'Validation';
  const charts = [lineChart({ title: 'Training loss (total)', xLabel: 'epoch', yLabel: 'loss', series: series((h) => h.loss), width: 560, height: 340 })];
  if (summary.actions.some((a) => a.history.some((h) => h.validation ?? h.test))) {
    charts.push(
      lineChart({ title: `${on} SRCC ×100`, xLabel: 'epoch', yLabel: 'SRCC ×100', series: series((h) => { const m = h.validation ?? h.test; return m ? m.srcc * 100 : undefined; }), width: 560, height: 340 }),
      lineChart({ title: `${on} rMSE`, xLabel: 'epoch', yLabel: 'rMSE', series: series((h) => (h.validation ?? h.test)?.relativeMSE), width: 560, height: 340 }),
      lineChart({ title: `${on} accuracy (%)`, xLabel: 'epoch', yLabel: 'accuracy %', series: series((h) => (h.validation ?? h.test)?.accuracy), width: 560, height: 340 }),
    );
  }
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
