/**
 * Evaluation metrics of the DualAlign paper (section 5.1) and its Table-3 report.
 *
 *   SRCC      Eq. (17): Pearson correlation of average ranks (ties share the mean rank,
 *             as scipy.stats.spearmanr). Undefined when either side is constant or n < 2:
 *             `spearmanResult` reports { value: 0, defined: false }, `spearman` returns 0,
 *             and the table marks such cells with a dagger.
 *   rMSE      Eq. (18): relative MSE, mean(((pred - truth) / (yMax - yMin))^2) * 100. Not an
 *             RMSE: no square root, and scaled by the action's grade range.
 *   Accuracy  Eq. (19): percentage of predictions equal to the true grade (round continuous
 *             predictions first, e.g. with roundToGrade).
 *   alpha     Eq. (20): grade-diversity index  -(q / ln q) * sum_i p_i ln p_i  over the q grade
 *             categories; from 0 (one grade) to q (uniform). Base-independent.
 */

export interface CorrelationResult {
  /** The coefficient; 0 when undefined. */
  value: number;
  /** False when a side is constant or there are fewer than 2 pairs. */
  defined: boolean;
}

function checkPairs(pred: ArrayLike<number>, truth: ArrayLike<number>, what: string): void {
  if (pred.length !== truth.length) throw new Error(`${what}: ${pred.length} predictions but ${truth.length} targets`);
  for (let i = 0; i < pred.length; i++) {
    if (!Number.isFinite(pred[i]!)) throw new Error(`${what}: prediction ${i} is ${pred[i]}`);
    if (!Number.isFinite(truth[i]!)) throw new Error(`${what}: target ${i} is ${truth[i]}`);
  }
}

/** 1-based ranks, ties given the average of the ranks they span. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): CorrelationResult {
  const n = a.length;
  if (n < 2) return { value: 0, defined: false };
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i]!;
    meanB += b[i]!;
  }
  meanA /= n;
  meanB /= n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - meanA;
    const db = b[i]! - meanB;
    ab += da * db;
    aa += da * da;
    bb += db * db;
  }
  if (aa === 0 || bb === 0) return { value: 0, defined: false };
  // Clamp rounding excursions just past +-1.
  return { value: Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb))), defined: true };
}

/** Spearman's rank correlation (Eq. 17) with a flag for the undefined case. */
export function spearmanResult(pred: ArrayLike<number>, truth: ArrayLike<number>): CorrelationResult {
  checkPairs(pred, truth, 'spearman');
  return correlation(averageRanks(pred), averageRanks(truth));
}

/** Spearman's rank correlation (Eq. 17); 0 when undefined (constant input, n < 2). */
export function spearman(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  return spearmanResult(pred, truth).value;
}

export function pearsonResult(pred: ArrayLike<number>, truth: ArrayLike<number>): CorrelationResult {
  checkPairs(pred, truth, 'pearson');
  return correlation(pred, truth);
}

/** Pearson's correlation; 0 when undefined (constant input, n < 2). */
export function pearson(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  return pearsonResult(pred, truth).value;
}

export function mse(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  checkPairs(pred, truth, 'mse');
  if (pred.length === 0) throw new Error('mse: no samples');
  let sum = 0;
  for (let i = 0; i < pred.length; i++) sum += (pred[i]! - truth[i]!) ** 2;
  return sum / pred.length;
}

/** Relative MSE of Eq. (18), in percent of the squared grade range. */
export function relativeMSE(pred: ArrayLike<number>, truth: ArrayLike<number>, yMin: number, yMax: number): number {
  if (!(yMax > yMin)) throw new Error(`relativeMSE: grade range [${yMin}, ${yMax}] is empty; yMax must exceed yMin`);
  return (mse(pred, truth) / (yMax - yMin) ** 2) * 100;
}

/** Accuracy of Eq. (19) in percent: exact matches between predicted and true grades. */
export function accuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  checkPairs(pred, truth, 'accuracy');
  if (pred.length === 0) throw new Error('accuracy: no samples');
  let hits = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === truth[i]) hits++;
  return (hits / pred.length) * 100;
}

/** Nearest grade within [minGrade, maxGrade], for turning a regression output into a class. */
export function roundToGrade(value: number, minGrade: number, maxGrade: number): number {
  return Math.min(maxGrade, Math.max(minGrade, Math.round(value)));
}

/**
 * Grade-diversity index alpha of Eq. (20). `numCategories` (q) defaults to the number of
 * distinct grades present; pass the action's full range (ActionInfo.numGrades) to count
 * unobserved grades as categories too. q <= 1 gives 0.
 */
export function gradeDiversity(grades: ArrayLike<number>, numCategories?: number): number {
  if (grades.length === 0) throw new Error('gradeDiversity: no grades');
  const counts = new Map<number, number>();
  for (let i = 0; i < grades.length; i++) {
    if (!Number.isFinite(grades[i]!)) throw new Error(`gradeDiversity: grade ${i} is ${grades[i]}`);
    counts.set(grades[i]!, (counts.get(grades[i]!) ?? 0) + 1);
  }
  const q = numCategories ?? counts.size;
  if (!Number.isInteger(q) || q < counts.size) throw new Error(`gradeDiversity: ${q} categories, but ${counts.size} distinct grades occur`);
  if (q <= 1) return 0;
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / grades.length;
    entropy -= p * Math.log(p);
  }
  return (q / Math.log(q)) * entropy;
}

export interface ActionMetrics {
  action: string;
  /** Row label when several methods share one table. */
  method?: string;
  /** SRCC in [-1, 1] (shown x100). */
  srcc: number;
  /** False marks an undefined SRCC (constant predictions or grades), shown with a dagger. */
  srccDefined?: boolean;
  relativeMSE: number;
  accuracy: number;
  n?: number;
}

/**
 * All three metrics for one action. Continuous predictions are rounded to the nearest
 * grade in range for accuracy only; SRCC and rMSE use them as given.
 */
export function actionMetrics(action: string, pred: ArrayLike<number>, truth: ArrayLike<number>, minGrade: number, maxGrade: number, method?: string): ActionMetrics {
  const correlationResult = spearmanResult(pred, truth);
  const rounded = Array.from(pred, (p) => roundToGrade(p, minGrade, maxGrade));
  const result: ActionMetrics = {
    action,
    srcc: correlationResult.value,
    srccDefined: correlationResult.defined,
    relativeMSE: relativeMSE(pred, truth, minGrade, maxGrade),
    accuracy: accuracy(rounded, truth),
    n: pred.length,
  };
  if (method !== undefined) result.method = method;
  return result;
}

/**
 * A Markdown table in the form of the paper's Table 3: one column per action plus the
 * plain average over actions, and one block per metric (SRCC x100 with 2 decimals, rMSE
 * with 3, accuracy % with 2), one row per method.
 */
export function perActionTable(rows: readonly ActionMetrics[], options: { defaultMethod?: string } = {}): string {
  if (rows.length === 0) throw new Error('perActionTable: no rows');
  const methodOf = (r: ActionMetrics): string => r.method ?? options.defaultMethod ?? 'Model';
  const actions = [...new Set(rows.map((r) => r.action))];
  const methods = [...new Set(rows.map(methodOf))];
  const cell = new Map<string, ActionMetrics>();
  for (const r of rows) {
    const key = `${methodOf(r)}\u0000${r.action}`;
    if (cell.has(key)) throw new Error(`perActionTable: two rows for method '${methodOf(r)}', action '${r.action}'`);
    cell.set(key, r);
  }
  const blocks: Array<{ title: string; pick: (r: ActionMetrics) => number; digits: number }> = [
    { title: 'SRCC (×100) ↑', pick: (r) => r.srcc * 100, digits: 2 },
    { title: 'rMSE ↓', pick: (r) => r.relativeMSE, digits: 3 },
    { title: 'Acc. (%) ↑', pick: (r) => r.accuracy, digits: 2 },
  ];
  let undefinedSeen = false;
  const lines = [`| Metric | Method | ${actions.join(' | ')} | Avg. |`, `|---|---|${actions.map(() => '---:').join('|')}|---:|`];
  for (const block of blocks) {
    for (const method of methods) {
      const values: string[] = [];
      const present: number[] = [];
      for (const action of actions) {
        const r = cell.get(`${method}\u0000${action}`);
        if (!r) {
          values.push('–');
          continue;
        }
        const value = block.pick(r);
        present.push(value);
        const dagger = block.title.startsWith('SRCC') && r.srccDefined === false;
        undefinedSeen ||= dagger;
        values.push(`${value.toFixed(block.digits)}${dagger ? '†' : ''}`);
      }
      const average = present.reduce((a, b) => a + b, 0) / present.length;
      lines.push(`| ${block.title} | ${method} | ${values.join(' | ')} | ${average.toFixed(block.digits)} |`);
    }
  }
  if (undefinedSeen) lines.push('', '† SRCC undefined (constant predictions or grades); counted as 0 in the average.');
  return `${lines.join('\n')}\n`;
}
