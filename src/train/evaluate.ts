/**
 * Evaluation of an action-specific model on a set of samples: batched predict() without
 * gradients, grades mapped back to the action's range, the three metrics of §5.1 (SRCC of
 * Eq. 17, rMSE of Eq. 18, accuracy of Eq. 19, via metrics.ts) on the predicted grades as the
 * paper computes them, plus the SRCC of the continuous score (expected grade) for reference.
 */
import { scope } from '../autograd/engine.js';
import type { ActionInfo, Sample } from '../data/types.js';
import { type ActionMetrics, actionMetrics, spearmanResult } from './metrics.js';
import type { AQAModel, ModelKit } from './types.js';

export interface EvaluationResult {
  metrics: ActionMetrics;
  /** SRCC of the expected-grade score (continuous) against the true grades. */
  srccScore: number;
  ids: string[];
  truth: number[];
  predictions: number[];
  scores: number[];
  probabilities: number[][];
  /** Per sample, the modalities it had. */
  present: string[][];
}

/** Samples with grades shifted so the action's minGrade is class 0 (what the models index). */
export function toModelGrades(samples: readonly Sample[], action: ActionInfo): Sample[] {
  if (action.minGrade === 0) return [...samples];
  return samples.map((s) => (s.grade === undefined ? s : { ...s, grade: s.grade - action.minGrade }));
}

function presentLists(modalitiesPresent: unknown, samples: readonly Sample[], modalities: readonly string[]): string[][] {
  if (modalitiesPresent && typeof modalitiesPresent === 'object' && !Array.isArray(modalitiesPresent)) {
    const rec = modalitiesPresent as Record<string, ArrayLike<boolean | number>>;
    return samples.map((_, i) => Object.keys(rec).filter((m) => Boolean(rec[m]![i])));
  }
  if (Array.isArray(modalitiesPresent) && modalitiesPresent.length === samples.length) {
    return modalitiesPresent.map((p) => (Array.isArray(p) ? p.map(String) : Object.keys(p as object).filter((k) => (p as Record<string, unknown>)[k])));
  }
  return samples.map((s) => modalities.filter((m) => s.modalities[m] !== undefined));
}

export async function evaluate(
  kit: ModelKit,
  model: AQAModel,
  config: unknown,
  samples: readonly Sample[],
  action: ActionInfo,
  opts: { batchSize?: number; modalities?: readonly string[]; method?: string } = {},
): Promise<EvaluationResult> {
  if (samples.length === 0) throw new Error(`evaluate: action '${action.id}' has no samples to evaluate`);
  const batchSize = Math.max(1, opts.batchSize ?? 32);
  const wasTraining = model.training;
  model.eval();
  const out: EvaluationResult = {
    metrics: undefined as unknown as ActionMetrics,
    srccScore: 0,
    ids: [],
    truth: [],
    predictions: [],
    scores: [],
    probabilities: [],
    present: [],
  };
  const shifted = toModelGrades(samples, action);
  try {
    for (let start = 0; start < shifted.length; start += batchSize) {
      const chunk = shifted.slice(start, start + batchSize);
      await scope(async () => {
        const batch = kit.collate(chunk, config);
        try {
          const p = await model.predict(batch);
          const probs = Array.from(p.probabilities as ArrayLike<ArrayLike<number>>, (row) => Array.from(row));
          const present = presentLists(p.modalitiesPresent, chunk, opts.modalities ?? []);
          chunk.forEach((s, i) => {
            out.ids.push(s.id);
            out.predictions.push(p.grades[i]! + action.minGrade);
            out.scores.push(p.scores[i]! + action.minGrade);
            out.probabilities.push(probs[i] ?? []);
            out.present.push(present[i] ?? []);
          });
        } finally {
          kit.disposeBatch(batch);
        }
      });
    }
  } finally {
    model.train(wasTraining);
  }
  out.truth = samples.map((s) => {
    if (s.grade === undefined) throw new Error(`evaluate: sample '${s.id}' has no grade`);
    return s.grade;
  });
  out.metrics = actionMetrics(action.id, out.predictions, out.truth, action.minGrade, action.maxGrade, opts.method);
  out.srccScore = spearmanResult(out.scores, out.truth).value;
  return out;
}

/** Per-grade confusion counts: rows = true grade, columns = predicted grade (minGrade..maxGrade). */
export function confusionMatrix(truth: readonly number[], predictions: readonly number[], action: ActionInfo): number[][] {
  const G = action.maxGrade - action.minGrade + 1;
  const m = Array.from({ length: G }, () => new Array<number>(G).fill(0));
  truth.forEach((t, i) => {
    const r = Math.round(t) - action.minGrade;
    const c = Math.min(G - 1, Math.max(0, Math.round(predictions[i]!) - action.minGrade));
    if (r >= 0 && r < G) m[r]![c]!++;
  });
  return m;
}
