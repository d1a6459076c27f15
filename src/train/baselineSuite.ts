/**
 * The baseline rows of every results table, fitted on exactly the split the model gets:
 *   constant  the most frequent training grade;
 *   ridge     ridge regression on the mean AND standard deviation over time of every modality
 *             (alpha by leave-one-out on the training split);
 *   mlp       the pooled-feature MLP (pooledMlp.ts), trained and selected like the model;
 *   tcn       a temporal convolution network on the anchor stream (temporalConv.ts), likewise.
 * 'ridge-mean' (time-mean features only) is available on request: it shows how much of the
 * signal a time average throws away, but is no yardstick.
 */
import type { ActionInfo, Dataset, Sample } from '../data/types.js';
import type { PresetName } from '../optim/presets.js';
import { constantBaseline, ridgeBaseline } from './baselines.js';
import { methodName, KITS } from './kits.js';
import type { ActionMetrics } from './metrics.js';
import { trainAction, type Selection } from './trainer.js';

export const BASELINES = ['constant', 'ridge', 'ridge-mean', 'mlp', 'tcn'] as const;
export type BaselineName = (typeof BASELINES)[number];
/** What every table carries unless told otherwise. */
export const DEFAULT_BASELINES: readonly BaselineName[] = ['constant', 'ridge', 'mlp', 'tcn'];

export const BASELINE_METHODS: Record<BaselineName, string> = {
  constant: 'Constant',
  ridge: 'Ridge (mean+std)',
  'ridge-mean': 'Ridge (mean)',
  mlp: methodName(KITS.mlp!),
  tcn: methodName(KITS.tcn!),
};

export interface BaselineFit {
  epochs: number;
  batchSize: number;
  seed: number;
  preset?: PresetName;
  lr?: number;
  select?: Selection;
  validationFraction?: number;
}

export interface BaselineRow {
  name: BaselineName;
  metrics: ActionMetrics;
  predictions: number[];
  /** Continuous scores (expected grade for the trained ones, the regression output for ridge). */
  scores: number[];
  seconds: number;
}

export function parseBaselines(list: readonly string[]): BaselineName[] {
  for (const b of list) if (!(BASELINES as readonly string[]).includes(b)) throw new Error(`unknown baseline '${b}' (${BASELINES.join(', ')})`);
  return [...list] as BaselineName[];
}

/**
 * Fits each named baseline on `train` and predicts `test`. `skip` leaves out the kit the table's
 * own model already is (e.g. 'mlp' when the run trains the MLP). A baseline that cannot run on
 * this data (e.g. a temporal baseline without a sequence) is reported through `log` and left out.
 */
export async function runBaselines(opts: {
  action: ActionInfo;
  dataset: Pick<Dataset, 'samples' | 'actions' | 'modalities'>;
  train: Sample[];
  test: Sample[];
  names: readonly BaselineName[];
  fit: BaselineFit;
  skip?: string;
  signal?: AbortSignal;
  log?: (message: string) => void;
}): Promise<BaselineRow[]> {
  const { action, train, test } = opts;
  const rows: BaselineRow[] = [];
  for (const name of opts.names) {
    if (name === opts.skip) continue;
    const t0 = performance.now();
    const method = BASELINE_METHODS[name];
    try {
      if (name === 'constant') {
        const r = constantBaseline(action, train, test);
        rows.push({ name, metrics: { ...r.metrics, method }, predictions: r.predictions, scores: r.predictions, seconds: (performance.now() - t0) / 1000 });
      } else if (name === 'ridge' || name === 'ridge-mean') {
        const r = ridgeBaseline(action, train.filter((s) => s.grade !== undefined), test, { modalities: opts.dataset.modalities, pooling: name === 'ridge' ? 'mean+std' : 'mean' });
        rows.push({ name, metrics: { ...r.metrics, method }, predictions: r.predictions, scores: r.predictions, seconds: (performance.now() - t0) / 1000 });
      } else {
        const r = await trainAction({ kit: KITS[name]!, dataset: opts.dataset, action: action.id, train, test, ...opts.fit, signal: opts.signal });
        r.model.dispose();
        rows.push({ name, metrics: { ...r.best.metrics, method }, predictions: r.best.predictions, scores: r.best.scores, seconds: (performance.now() - t0) / 1000 });
      }
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      opts.log?.(`${method} baseline skipped for action ${action.id}: ${(error as Error).message}`);
    }
  }
  return rows;
}
