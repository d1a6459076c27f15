/**
 * Reference baselines for the per-action table and the tests:
 *   constant  predicts the training set's most frequent grade (SRCC undefined, shown as 0†);
 *   ridge     linear ridge regression on standardized pooled features (features.ts), the
 *             regularisation picked by exact leave-one-out error over a grid; predictions
 *             are continuous (SRCC, rMSE) and rounded to the nearest grade for accuracy.
 * Both run on the host in float64: they are yardsticks, not models of the library.
 */
import type { ActionInfo, Sample } from '../data/types.js';
import { type ActionMetrics, actionMetrics } from './metrics.js';
import { columnStats, pooledFeatures, pooledLayout, standardize } from './features.js';

export interface BaselineResult {
  method: string;
  predictions: number[];
  metrics: ActionMetrics;
}

function gradesOf(samples: readonly Sample[], what: string): number[] {
  return samples.map((s) => {
    if (s.grade === undefined) throw new Error(`${what}: sample '${s.id}' has no grade`);
    return s.grade;
  });
}

export function constantBaseline(action: ActionInfo, train: readonly Sample[], test: readonly Sample[]): BaselineResult {
  const counts = new Map<number, number>();
  for (const g of gradesOf(train, 'constant baseline')) counts.set(g, (counts.get(g) ?? 0) + 1);
  let mode = action.minGrade;
  let best = -1;
  for (const [g, c] of [...counts].sort((a, b) => a[0] - b[0])) if (c > best) [mode, best] = [g, c];
  const predictions = test.map(() => mode);
  return { method: 'Constant', predictions, metrics: actionMetrics(action.id, predictions, gradesOf(test, 'constant baseline'), action.minGrade, action.maxGrade, 'Constant') };
}

/** Solves the symmetric positive definite system A x = b (A n×n row-major) by Cholesky; A is overwritten. */
function choleskySolve(a: Float64Array, n: number, rhs: Float64Array[]): Float64Array[] {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! ** 2;
    if (!(d > 0)) throw new Error('ridge baseline: matrix not positive definite');
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / l;
    }
  }
  return rhs.map((b) => {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i]!;
      for (let k = 0; k < i; k++) s -= a[i * n + k]! * y[k]!;
      y[i] = s / a[i * n + i]!;
    }
    const x = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * x[k]!;
      x[i] = s / a[i * n + i]!;
    }
    return x;
  });
}

export interface RidgeOptions {
  modalities: readonly string[];
  /** Temporal pooling of the features (default 'mean'; 'mean+std' adds the standard deviation over time). */
  pooling?: 'mean' | 'mean+std';
  /** Candidate regularisation strengths, relative to the feature count (default 1e-3..1e3). */
  lambdas?: number[];
}

/** Kernel-form ridge (N ≪ D): α = (K + λI)^-1 (y - ȳ), ŷ = ȳ + k(x)ᵀ α with K = X Xᵀ. */
export function ridgeBaseline(action: ActionInfo, train: readonly Sample[], test: readonly Sample[], opts: RidgeOptions): BaselineResult & { lambda: number } {
  const y = gradesOf(train, 'ridge baseline');
  const truth = gradesOf(test, 'ridge baseline');
  const layout = pooledLayout(train, opts.modalities, opts.pooling ?? 'mean');
  const d = layout.total;
  const n = train.length;
  const xTrain = pooledFeatures(train, layout);
  const stats = columnStats(xTrain, n, d);
  const present = (samples: readonly Sample[]): boolean[][] => samples.map((s) => layout.modalities.map((m) => s.modalities[m] !== undefined));
  standardize(xTrain, n, layout, stats, present(train));
  const xTest = standardize(pooledFeatures(test, layout), test.length, layout, stats, present(test));
  const gram = (a: Float32Array, na: number, b: Float32Array, nb: number): Float64Array => {
    const k = new Float64Array(na * nb);
    for (let i = 0; i < na; i++) {
      for (let j = 0; j < nb; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += a[i * d + c]! * b[j * d + c]!;
        k[i * nb + j] = s / d;
      }
    }
    return k;
  };
  const kTrain = gram(xTrain, n, xTrain, n);
  const yMean = y.reduce((a, b) => a + b, 0) / n;
  const yc = Float64Array.from(y, (v) => v - yMean);
  const lambdas = opts.lambdas ?? [1e-3, 1e-2, 1e-1, 1, 10, 100, 1000];
  let bestLambda = lambdas[0]!;
  let bestLoo = Infinity;
  for (const lambda of lambdas) {
    // LOO residual of kernel ridge: (y_i - ŷ_i) / (1 - H_ii), H = K (K + λI)^-1; via α = (K+λI)^-1 y and G = (K+λI)^-1: e_i = α_i / G_ii.
    const a = Float64Array.from(kTrain);
    for (let i = 0; i < n; i++) a[i * n + i] += lambda;
    const unit = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
    let solved: Float64Array[];
    try {
      solved = choleskySolve(a, n, [yc, ...unit]);
    } catch {
      continue; // K + λI numerically singular at this λ (rank-deficient K, tiny λ): a larger λ is tried
    }
    const [alpha, ...cols] = solved;
    let loo = 0;
    for (let i = 0; i < n; i++) loo += (alpha![i]! / cols[i]![i]!) ** 2;
    if (loo < bestLoo) [bestLoo, bestLambda] = [loo, lambda];
  }
  const a = Float64Array.from(kTrain);
  for (let i = 0; i < n; i++) a[i * n + i] += bestLambda;
  const [alpha] = choleskySolve(a, n, [yc]);
  const kTest = gram(xTest, test.length, xTrain, n);
  const predictions = test.map((_, i) => {
    let s = yMean;
    for (let j = 0; j < n; j++) s += kTest[i * n + j]! * alpha![j]!;
    return Math.min(action.maxGrade, Math.max(action.minGrade, s));
  });
  return {
    method: 'Ridge',
    lambda: bestLambda,
    predictions,
    metrics: actionMetrics(action.id, predictions, truth, action.minGrade, action.maxGrade, 'Ridge'),
  };
}
