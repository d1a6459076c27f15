/**
 * Subject-wise k-fold cross-validation of action-specific models (e.g. UI-PRMD, whose
 * exercises have no fixed split): subjects are dealt into k folds (subjectFolds); each fold
 * trains on the other subjects and predicts its own, so no subject is ever on both sides.
 *
 * Model selection happens inside the training folds (`select`, as for trainAction): 'last'
 * (default here) trains a fixed epoch budget and keeps the last epoch; 'validation' keeps the
 * epoch with the best SRCC on a validation split carved from the training folds; 'test' is the
 * paper's protocol (best test epoch; optimistic, and `protocol` says so). The held-out fold is
 * predicted once. The baselines (baselineSuite.ts) are fitted on the same folds. Metrics: per
 * fold, their mean ± std across folds, and those of the pooled out-of-fold predictions.
 */
import type { ActionInfo, Dataset, Sample } from '../data/types.js';
import { subjectFolds } from '../data/uiprmd.js';
import { type ActionMetrics, actionMetrics, spearmanResult } from './metrics.js';
import { findAction, trainAction, type Selection, type TrainActionOptions } from './trainer.js';
import { runBaselines, type BaselineName } from './baselineSuite.js';
import { methodName } from './kits.js';

export type CrossValidationBaseline = BaselineName;

export interface CrossValidationOptions extends Omit<TrainActionOptions, 'train' | 'test' | 'action' | 'checkpointDir' | 'resume'> {
  action: string;
  folds: number;
  onFold?: (fold: number, testSubjects: string[]) => void;
  /** Modalities of the ridge baselines (default: every modality of the dataset). */
  ridgeModalities?: string[];
  /** Baselines fitted on the same folds (baselineSuite.ts), e.g. ['constant', 'ridge', 'mlp', 'tcn']; default none. */
  baselines?: readonly BaselineName[];
  /** The pooled MLP baseline's own budget: epochs, learning rate, batch size, preset (default the model's). */
  mlp?: { epochs?: number; lr?: number; batchSize?: number; preset?: TrainActionOptions['preset'] };
  log?: (message: string) => void;
}

export interface MethodResult {
  method: string;
  /** Metrics of each fold's test subjects. */
  folds: ActionMetrics[];
  /** Mean and standard deviation across folds (population std, over the k folds). */
  accuracy: { mean: number; std: number };
  srcc: { mean: number; std: number };
  /** Metrics of the pooled out-of-fold predictions. */
  pooled: ActionMetrics;
  seconds: number;
}

export interface CrossValidationResult {
  action: ActionInfo;
  /** How the epoch was chosen: 'fixed' (last epoch), 'validation' (inside the training folds) or 'best-test' (the paper's). */
  protocol: 'fixed' | 'validation' | 'best-test';
  folds: Array<{ fold: number; testSubjects: string[]; metrics: ActionMetrics; bestEpoch: number }>;
  /** The model's metrics on the pooled out-of-fold predictions. */
  metrics: ActionMetrics;
  srccScore: number;
  truth: number[];
  predictions: number[];
  scores: number[];
  /** Each baseline's per-fold summary (in the order asked), then the model's (method = the kit's name). */
  methods: MethodResult[];
  /** Each baseline on the pooled out-of-fold predictions (method names as in the tables). */
  baselineMetrics: ActionMetrics[];
  /** Ridge (mean+std) on the pooled out-of-fold predictions, when it ran (also in `methods`). */
  ridge?: ActionMetrics;
  /** Wall time of the model's training and evaluation over all folds (baselines excluded). */
  seconds: number;
}

/** Subject-wise folds of samples (see subjectFolds in data/uiprmd.ts). */
export function subjectFoldsOf(samples: readonly Sample[], k: number): Array<{ testSubjects: string[]; train: Sample[]; test: Sample[] }> {
  return subjectFolds({ samples: [...samples] }, k);
}

export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
}

interface FoldPredictions {
  predictions: number[];
  truth: number[];
}

function methodResult(method: string, action: ActionInfo, perFold: readonly FoldPredictions[], seconds: number): MethodResult {
  const folds = perFold.map((f) => actionMetrics(action.id, f.predictions, f.truth, action.minGrade, action.maxGrade, method));
  return {
    method,
    folds,
    accuracy: meanStd(folds.map((m) => m.accuracy)),
    srcc: meanStd(folds.map((m) => m.srcc)),
    pooled: actionMetrics(action.id, perFold.flatMap((f) => f.predictions), perFold.flatMap((f) => f.truth), action.minGrade, action.maxGrade, method),
    seconds,
  };
}

const PROTOCOL: Record<Selection, CrossValidationResult['protocol']> = { last: 'fixed', validation: 'validation', test: 'best-test' };

export async function crossValidate(opts: CrossValidationOptions & { dataset: Pick<Dataset, 'samples' | 'actions' | 'modalities'> }): Promise<CrossValidationResult> {
  const action = findAction(opts.dataset.actions, opts.action);
  const mine = opts.dataset.samples.filter((s) => s.action === action.id);
  const folds = subjectFoldsOf(mine, opts.folds);
  const select: Selection = opts.select ?? 'last';
  const { onFold: _o, ridgeModalities: _r, baselines: _b, mlp: _m, log: _l, ...trainOpts } = opts;
  const out: CrossValidationResult = {
    action,
    protocol: PROTOCOL[select],
    folds: [],
    metrics: undefined as unknown as ActionMetrics,
    srccScore: 0,
    truth: [],
    predictions: [],
    scores: [],
    methods: [],
    baselineMetrics: [],
    seconds: 0,
  };
  const names = opts.baselines ?? [];
  const perFold = new Map<string, FoldPredictions[]>();
  const seconds = new Map<string, number>();
  const add = (method: string, f: FoldPredictions, s: number) => {
    perFold.set(method, [...(perFold.get(method) ?? []), f]);
    seconds.set(method, (seconds.get(method) ?? 0) + s);
  };
  const dataset = opts.ridgeModalities ? { ...opts.dataset, modalities: opts.ridgeModalities } : opts.dataset;
  const model = methodName(opts.kit);
  for (const [fold, f] of folds.entries()) {
    opts.onFold?.(fold, f.testSubjects);
    const truth = f.test.map((s) => s.grade!);
    const seed = opts.seed + fold;
    const fit = { epochs: opts.epochs, batchSize: opts.batchSize, seed, preset: opts.preset, lr: opts.lr, select, validationFraction: opts.validationFraction };
    for (const name of names) {
      const rows = await runBaselines({
        action,
        // the ridge rows read `modalities`; the trained ones take the whole dataset's streams
        dataset: name === 'ridge' || name === 'ridge-mean' ? dataset : opts.dataset,
        train: f.train,
        test: f.test,
        names: [name],
        fit: name === 'mlp' && opts.mlp ? { ...fit, ...opts.mlp } : fit,
        skip: opts.kit.name,
        signal: opts.signal,
        log: opts.log,
      });
      for (const r of rows) add(r.metrics.method!, { predictions: r.predictions, truth }, r.seconds);
    }
    const t0 = performance.now();
    const r = await trainAction({ ...trainOpts, select, action: action.id, train: f.train, test: f.test, seed });
    r.model.dispose();
    add(model, { predictions: r.best.predictions, truth: r.best.truth }, (performance.now() - t0) / 1000);
    out.folds.push({ fold, testSubjects: f.testSubjects, metrics: r.best.metrics, bestEpoch: r.bestEpoch });
    out.truth.push(...r.best.truth);
    out.predictions.push(...r.best.predictions);
    out.scores.push(...r.best.scores);
  }
  out.metrics = actionMetrics(action.id, out.predictions, out.truth, action.minGrade, action.maxGrade);
  out.srccScore = spearmanResult(out.scores, out.truth).value;
  out.seconds = seconds.get(model) ?? 0;
  for (const [method, f] of perFold) if (method !== model) out.methods.push(methodResult(method, action, f, seconds.get(method)!));
  out.methods.push(methodResult(model, action, perFold.get(model)!, out.seconds));
  out.baselineMetrics = out.methods.filter((m) => m.method !== model).map((m) => m.pooled);
  out.ridge = out.methods.find((m) => m.method === 'Ridge (mean+std)')?.pooled;
  return out;
}

/**
 * A markdown table of cross-validation results: one row per action, one column per method with
 * its accuracy (%) mean ± std across folds, then the mean over actions of each method's mean.
 */
export function crossValidationTable(results: readonly CrossValidationResult[], opts: { metric?: 'accuracy' | 'srcc' } = {}): string {
  if (results.length === 0) throw new Error('crossValidationTable: no results');
  const metric = opts.metric ?? 'accuracy';
  const methods = results[0]!.methods.map((m) => m.method);
  for (const r of results) {
    const these = r.methods.map((m) => m.method).join(', ');
    if (these !== methods.join(', ')) throw new Error(`crossValidationTable: action '${r.action.id}' has methods ${these}, the first has ${methods.join(', ')}`);
  }
  const scale = metric === 'srcc' ? 100 : 1;
  const cell = (v: { mean: number; std: number }) => `${(v.mean * scale).toFixed(1)} ± ${(v.std * scale).toFixed(1)}`;
  const unit = metric === 'srcc' ? 'SRCC×100' : 'Acc. (%)';
  const lines = [
    `| Exercise | ${methods.map((m) => `${m} ${unit}`).join(' | ')} |`,
    `|---|${methods.map(() => '---:').join('|')}|`,
  ];
  for (const r of results) lines.push(`| ${r.action.id} ${r.action.name} | ${r.methods.map((m) => cell(m[metric])).join(' | ')} |`);
  const avg = methods.map((_, i) => meanStd(results.map((r) => r.methods[i]![metric].mean)));
  lines.push(`| **Mean over exercises** | ${avg.map((v) => `**${(v.mean * scale).toFixed(1)}**`).join(' | ')} |`);
  const protocols = [...new Set(results.map((r) => r.protocol))];
  const folds = [...new Set(results.map((r) => r.folds.length))];
  const note =
    `Subject-wise ${folds.join('/')}-fold cross-validation; each cell: mean ± std across folds. ` +
    (protocols.includes('best-test')
      ? "The trained rows use the paper's protocol (best test epoch per fold): optimistic."
      : protocols.includes('validation')
        ? 'Trained models keep the epoch with the best SRCC on a validation split carved from the training folds; no test fold chooses anything.'
        : 'Every model trains for a fixed number of epochs; no test fold chooses anything.');
  return `${lines.join('\n')}\n\n${note}\n`;
}
