/**
 * Subject-wise k-fold cross-validation of action-specific models (e.g. UI-PRMD, whose
 * exercises have no fixed split): subjects are dealt into k folds; each fold trains on the
 * other subjects and predicts its own, so no subject is ever on both sides. Metrics are computed
 * on the pooled out-of-fold predictions (and per fold for the spread).
 *
 * Model selection happens inside the training folds: trainAction carves its validation split
 * from them (select 'validation', default) or trains a fixed budget ('last'); the held-out fold
 * is predicted once. The baselines (baselineSuite.ts) are fitted on the same folds.
 */
import type { ActionInfo, Dataset, Sample } from '../data/types.js';
import { type ActionMetrics, actionMetrics, spearmanResult } from './metrics.js';
import { findAction, trainAction, type TrainActionOptions } from './trainer.js';
import { ridgeBaseline } from './baselines.js';
import { runBaselines, type BaselineName } from './baselineSuite.js';

export interface CrossValidationOptions extends Omit<TrainActionOptions, 'train' | 'test' | 'action' | 'checkpointDir' | 'resume'> {
  action: string;
  folds: number;
  onFold?: (fold: number, testSubjects: string[]) => void;
  /** Also fit the ridge baseline (mean-pooled features of these modalities) on the same folds. */
  ridgeModalities?: string[];
  /** Baselines fitted on the same folds (baselineSuite.ts), e.g. ['constant', 'ridge', 'mlp', 'tcn']. */
  baselines?: readonly BaselineName[];
  log?: (message: string) => void;
}

export interface CrossValidationResult {
  action: ActionInfo;
  folds: Array<{ fold: number; testSubjects: string[]; metrics: ActionMetrics; bestEpoch: number }>;
  /** Metrics of the pooled out-of-fold predictions. */
  metrics: ActionMetrics;
  srccScore: number;
  truth: number[];
  predictions: number[];
  scores: number[];
  /** Ridge baseline on the same folds (with ridgeModalities). */
  ridge?: ActionMetrics;
  /** Each requested baseline on the pooled out-of-fold predictions (method names as in the tables). */
  baselineMetrics: ActionMetrics[];
}

export function subjectFoldsOf(samples: readonly Sample[], k: number): Array<{ testSubjects: string[]; train: Sample[]; test: Sample[] }> {
  const missing = samples.find((s) => s.subject === undefined);
  if (missing) throw new Error(`cross-validation: sample '${missing.id}' has no subject`);
  const subjects = [...new Set(samples.map((s) => s.subject!))].sort();
  if (!Number.isInteger(k) || k < 2 || k > subjects.length) throw new Error(`cross-validation: folds must be an integer in 2..${subjects.length} (the number of subjects), got ${k}`);
  return Array.from({ length: k }, (_, fold) => {
    const testSubjects = subjects.filter((_, i) => i % k === fold);
    const held = new Set(testSubjects);
    return { testSubjects, train: samples.filter((s) => !held.has(s.subject!)), test: samples.filter((s) => held.has(s.subject!)) };
  });
}

export async function crossValidate(opts: CrossValidationOptions & { dataset: Pick<Dataset, 'samples' | 'actions' | 'modalities'> }): Promise<CrossValidationResult> {
  const action = findAction(opts.dataset.actions, opts.action);
  const mine = opts.dataset.samples.filter((s) => s.action === action.id);
  const folds = subjectFoldsOf(mine, opts.folds);
  const out: CrossValidationResult = { action, folds: [], metrics: undefined as unknown as ActionMetrics, srccScore: 0, truth: [], predictions: [], scores: [], baselineMetrics: [] };
  const ridgeTruth: number[] = [];
  const ridgePred: number[] = [];
  const pooled = new Map<string, { pred: number[]; truth: number[] }>();
  for (const [fold, f] of folds.entries()) {
    opts.onFold?.(fold, f.testSubjects);
    if (opts.ridgeModalities) {
      const rb = ridgeBaseline(action, f.train, f.test, { modalities: opts.ridgeModalities });
      ridgePred.push(...rb.predictions);
      ridgeTruth.push(...f.test.map((s) => s.grade!));
    }
    if (opts.baselines?.length) {
      const rows = await runBaselines({
        action,
        dataset: opts.dataset,
        train: f.train,
        test: f.test,
        names: opts.baselines,
        fit: { epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed + fold, preset: opts.preset, lr: opts.lr, select: opts.select, validationFraction: opts.validationFraction },
        skip: opts.kit.name,
        signal: opts.signal,
        log: opts.log,
      });
      for (const r of rows) {
        const p = pooled.get(r.metrics.method!) ?? { pred: [], truth: [] };
        p.pred.push(...r.predictions);
        p.truth.push(...f.test.map((s) => s.grade!));
        pooled.set(r.metrics.method!, p);
      }
    }
    const r = await trainAction({ ...opts, action: action.id, train: f.train, test: f.test, seed: opts.seed + fold });
    r.model.dispose();
    out.folds.push({ fold, testSubjects: f.testSubjects, metrics: r.best.metrics, bestEpoch: r.bestEpoch });
    out.truth.push(...r.best.truth);
    out.predictions.push(...r.best.predictions);
    out.scores.push(...r.best.scores);
  }
  out.metrics = actionMetrics(action.id, out.predictions, out.truth, action.minGrade, action.maxGrade);
  out.srccScore = spearmanResult(out.scores, out.truth).value;
  if (opts.ridgeModalities) out.ridge = actionMetrics(action.id, ridgePred, ridgeTruth, action.minGrade, action.maxGrade, 'Ridge');
  for (const [method, p] of pooled) out.baselineMetrics.push(actionMetrics(action.id, p.pred, p.truth, action.minGrade, action.maxGrade, method));
  return out;
}
