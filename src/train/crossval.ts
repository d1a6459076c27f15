/**
 * Subject-wise k-fold cross-validation of action-specific models (e.g. UI-PRMD, whose
 * exercises have no fixed split): subjects are dealt into k folds (subjectFolds); each fold
 * trains on the other subjects and predicts its own, so no subject is ever on both sides.
 *
 * Protocol (`selection`):
 *   'fixed' (default)  every fold trains for the same fixed number of epochs and keeps the last
 *                      one; the test subjects are predicted once and choose nothing.
 *   'best-test'        the paper's protocol: the epoch with the best test SRCC (optimistic; the
 *                      result says so in `protocol`).
 * Baselines (`baselines`) run on the same folds: the constant (most frequent training grade),
 * ridge on the mean and standard deviation over time of `ridgeModalities`, and the pooled MLP
 * (pooledMlp.ts, a fixed epoch budget). Metrics: per fold, their mean ± std across folds, and
 * those of the pooled out-of-fold predictions.
 */
import type { ActionInfo, Dataset, Sample } from '../data/types.js';
import { subjectFolds } from '../data/uiprmd.js';
import { type ActionMetrics, actionMetrics, spearmanResult } from './metrics.js';
import { findAction, trainAction, type TrainActionOptions } from './trainer.js';
import { constantBaseline, ridgeBaseline } from './baselines.js';
import { pooledMlpKit } from './pooledMlp.js';

export type CrossValidationBaseline = 'constant' | 'ridge' | 'mlp';

export interface CrossValidationOptions extends Omit<TrainActionOptions, 'train' | 'test' | 'action' | 'checkpointDir' | 'resume' | 'keepEpoch'> {
  action: string;
  folds: number;
  /** 'fixed' (default): keep each fold's last epoch; 'best-test': the paper's best-test-epoch protocol. */
  selection?: 'fixed' | 'best-test';
  onFold?: (fold: number, testSubjects: string[]) => void;
  /** Modalities of the ridge baseline (default: every modality of the dataset). */
  ridgeModalities?: string[];
  /** Temporal pooling of the ridge baseline's features (default 'mean+std'). */
  ridgePooling?: 'mean' | 'mean+std';
  /** Baselines fitted on the same folds (default none). */
  baselines?: CrossValidationBaseline[];
  /** Pooled MLP baseline: epochs, batch size and preset (default: the model's), learning rate (default 1e-3), overrides (hidden, dropout). */
  mlp?: { epochs?: number; lr?: number; batchSize?: number; preset?: TrainActionOptions['preset']; overrides?: Record<string, unknown> };
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
  protocol: 'fixed' | 'best-test';
  folds: Array<{ fold: number; testSubjects: string[]; metrics: ActionMetrics; bestEpoch: number }>;
  /** Metrics of the pooled out-of-fold predictions. */
  metrics: ActionMetrics;
  srccScore: number;
  truth: number[];
  predictions: number[];
  scores: number[];
  /** The model's per-fold summary (method = the kit's name), then each baseline's. */
  methods: MethodResult[];
  /** Ridge baseline on the same folds (pooled out-of-fold; also in `methods`). */
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

function methodResult(method: string, action: ActionInfo, perFold: Array<{ predictions: number[]; truth: number[] }>, seconds: number): MethodResult {
  const folds = perFold.map((f) => actionMetrics(action.id, f.predictions, f.truth, action.minGrade, action.maxGrade, method));
  return {
    method,
    folds,
    accuracy: meanStd(folds.map((m) => m.accuracy)),
    srcc: meanStd(folds.map((m) => m.srcc)),
    pooled: actionMetrics(
      action.id,
      perFold.flatMap((f) => f.predictions),
      perFold.flatMap((f) => f.truth),
      action.minGrade,
      action.maxGrade,
      method,
    ),
    seconds,
  };
}

export async function crossValidate(opts: CrossValidationOptions & { dataset: Pick<Dataset, 'samples' | 'actions' | 'modalities'> }): Promise<CrossValidationResult> {
  const action = findAction(opts.dataset.actions, opts.action);
  const mine = opts.dataset.samples.filter((s) => s.action === action.id);
  const folds = subjectFoldsOf(mine, opts.folds);
  const protocol = opts.selection ?? 'fixed';
  const { selection: _s, onFold: _o, ridgeModalities: _r, ridgePooling: _p, baselines: _b, mlp: _m, ...trainOpts } = opts;
  const out: CrossValidationResult = {
    action,
    protocol,
    folds: [],
    metrics: undefined as unknown as ActionMetrics,
    srccScore: 0,
    truth: [],
    predictions: [],
    scores: [],
    methods: [],
    seconds: 0,
  };
  const baselines = new Set(opts.baselines ?? []);
  if (opts.ridgeModalities) baselines.add('ridge');
  const perFold: Record<string, Array<{ predictions: number[]; truth: number[] }>> = { model: [], constant: [], ridge: [], mlp: [] };
  const seconds: Record<string, number> = { model: 0, constant: 0, ridge: 0, mlp: 0 };
  const timed = async <T>(key: string, fn: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    seconds[key]! += (performance.now() - t0) / 1000;
    return r;
  };
  for (const [fold, f] of folds.entries()) {
    opts.onFold?.(fold, f.testSubjects);
    const truth = f.test.map((s) => s.grade!);
    if (baselines.has('constant')) perFold.constant!.push({ predictions: (await timed('constant', () => constantBaseline(action, f.train, f.test))).predictions, truth });
    if (baselines.has('ridge')) {
      const rb = await timed('ridge', () => ridgeBaseline(action, f.train, f.test, { modalities: opts.ridgeModalities ?? opts.dataset.modalities, pooling: opts.ridgePooling ?? 'mean+std' }));
      perFold.ridge!.push({ predictions: rb.predictions, truth });
    }
    if (baselines.has('mlp')) {
      const m = await timed('mlp', () =>
        trainAction({
          ...trainOpts,
          kit: pooledMlpKit,
          action: action.id,
          train: f.train,
          test: f.test,
          epochs: opts.mlp?.epochs ?? opts.epochs,
          batchSize: opts.mlp?.batchSize ?? opts.batchSize,
          preset: opts.mlp?.preset ?? opts.preset,
          lr: opts.mlp?.lr ?? 1e-3,
          modelOverrides: opts.mlp?.overrides ?? {},
          keepEpoch: protocol === 'fixed' ? 'last' : 'best',
          seed: opts.seed + fold,
          onEvent: undefined,
        }),
      );
      m.model.dispose();
      perFold.mlp!.push({ predictions: m.best.predictions, truth: m.best.truth });
    }
    const r = await timed('model', () => trainAction({ ...trainOpts, action: action.id, train: f.train, test: f.test, seed: opts.seed + fold, keepEpoch: protocol === 'fixed' ? 'last' : 'best' }));
    r.model.dispose();
    out.folds.push({ fold, testSubjects: f.testSubjects, metrics: r.best.metrics, bestEpoch: r.bestEpoch });
    out.truth.push(...r.best.truth);
    out.predictions.push(...r.best.predictions);
    out.scores.push(...r.best.scores);
    perFold.model!.push({ predictions: r.best.predictions, truth: r.best.truth });
  }
  out.metrics = actionMetrics(action.id, out.predictions, out.truth, action.minGrade, action.maxGrade);
  out.srccScore = spearmanResult(out.scores, out.truth).value;
  out.seconds = seconds.model!;
  const names: Record<string, string> = { model: opts.kit.name === 'dualalign' ? 'DualAlign' : opts.kit.name, constant: 'Constant', ridge: `Ridge (${opts.ridgePooling ?? 'mean+std'})`, mlp: 'Pooled MLP' };
  for (const key of ['constant', 'ridge', 'mlp', 'model']) {
    if (perFold[key]!.length > 0) out.methods.push(methodResult(names[key]!, action, perFold[key]!, seconds[key]!));
  }
  const ridge = out.methods.find((m) => m.method.startsWith('Ridge'));
  if (ridge) out.ridge = ridge.pooled;
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
    (protocols.includes('best-test') ? 'DualAlign rows use the paper\'s protocol (best test epoch per fold): optimistic.' : 'Every model trains for a fixed number of epochs; no test fold chooses anything.');
  return `${lines.join('\n')}\n\n${note}\n`;
}
