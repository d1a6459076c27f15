/**
 * Runs and their results folders: `runExperiment` trains one model per action (§5.1) and
 * writes runs/<name>/ (config.json, metrics.json, table.md, plots/); the robustness runs
 * (§5.4) evaluate trained models with modalities removed at inference (Fig. 14) or retrain
 * with a share of the training labels hidden (Fig. 15), and write a table and a plot.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionInfo, Dataset, Sample } from '../data/types.js';
import { deriveRng, shuffleInPlace } from '../data/prng.js';
import type { PresetName } from '../optim/presets.js';
import { writeFigure } from '../report/png.js';
import {
  averageMetrics,
  confusionSvg,
  predictedVsTrueSvg,
  robustnessMarkdown,
  robustnessSvg,
  runTableMarkdown,
  seedsTableMarkdown,
  summarizeSeeds,
  type SeedsSummary,
  trainingCurvesSvg,
  type ActionReport,
  type RobustnessPoint,
  type RobustnessSummary,
  type RunSummary,
} from '../report/report.js';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.node.js';
import { DEFAULT_BASELINES, runBaselines, type BaselineName } from './baselineSuite.js';
import { confusionMatrix, evaluate } from './evaluate.js';
import { methodName } from './kits.js';
import { gradeDiversity } from './metrics.js';
import { actionSplit, deriveSeed, describeSelection, findAction, trainAction, DEFAULT_VALIDATION_FRACTION, type Selection, type TrainEvent } from './trainer.js';
import type { AQAModel, ModelKit } from './types.js';

export interface ExperimentOptions {
  name: string;
  /** The results folder (runs/<name>). */
  runDir: string;
  kit: ModelKit;
  dataset: Dataset;
  /** Action ids or names (default: all actions of the dataset). */
  actions?: string[];
  epochs: number;
  batchSize: number;
  seed: number;
  preset?: PresetName;
  lr?: number;
  modelOverrides?: Record<string, unknown>;
  resume?: boolean;
  /** Model selection (default 'validation'; 'test' is the paper's protocol, labelled as such). */
  select?: Selection;
  validationFraction?: number;
  /** Baseline rows on the same splits (default true: constant, ridge mean+std, pooled MLP, temporal CNN; or a list). */
  baselines?: boolean | readonly BaselineName[];
  missingLabelRate?: number;
  /** Written to config.json next to what the run adds itself. */
  configRecord?: Record<string, unknown>;
  onEvent?: (e: TrainEvent) => void;
  log?: (message: string) => void;
  signal?: AbortSignal;
  /** Write plots (default true). */
  plots?: boolean;
  /** Keep the trained models (caller disposes) instead of disposing them. */
  keepModels?: boolean;
}

export interface ExperimentResult {
  summary: RunSummary;
  files: string[];
  /** action id -> trained model with the best weights (only with keepModels). */
  models: Map<string, { model: AQAModel; config: unknown }>;
  /** Live GPU buffers after each training step, per action. */
  bufferTraces: Record<string, number[]>;
}

export function selectActions(dataset: Pick<Dataset, 'actions'>, keys?: readonly string[]): ActionInfo[] {
  if (!keys || keys.length === 0) return [...dataset.actions];
  return keys.map((k) => findAction(dataset.actions, k));
}

export function alphaOf(samples: readonly Sample[], action: ActionInfo): number {
  const grades = samples.filter((s) => s.action === action.id && s.grade !== undefined).map((s) => s.grade!);
  return grades.length ? gradeDiversity(grades, action.numGrades) : 0;
}

export async function runExperiment(opts: ExperimentOptions): Promise<ExperimentResult> {
  const t0 = performance.now();
  const actions = selectActions(opts.dataset, opts.actions);
  mkdirSync(join(opts.runDir, 'plots'), { recursive: true });
  const files: string[] = [];
  const configPath = join(opts.runDir, 'config.json');
  writeJsonAtomic(configPath, {
    name: opts.name,
    model: opts.kit.name,
    actions: actions.map((a) => a.id),
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    seed: opts.seed,
    select: opts.select ?? 'validation',
    validationFraction: (opts.select ?? 'validation') === 'validation' ? (opts.validationFraction ?? DEFAULT_VALIDATION_FRACTION) : null,
    preset: opts.preset ?? 'paper',
    lr: opts.lr ?? null,
    modelOverrides: opts.modelOverrides ?? {},
    missingLabelRate: opts.missingLabelRate ?? 0,
    modalities: opts.dataset.modalities,
    samples: opts.dataset.summary.perAction,
    ...(opts.configRecord ?? {}),
  });
  files.push(configPath);

  const reports: ActionReport[] = [];
  const models = new Map<string, { model: AQAModel; config: unknown }>();
  const bufferTraces: Record<string, number[]> = {};
  let modelDescription = '';
  let optimizerDescription = '';
  const summaryOf = (): RunSummary => ({
    name: opts.name,
    kit: opts.kit.name,
    model: modelDescription,
    optimizer: optimizerDescription,
    method: methodName(opts.kit),
    select: opts.select ?? 'validation',
    protocol: describeSelection(opts.select ?? 'validation', opts.validationFraction),
    actions: reports,
    average: averageMetrics(reports.map((r) => r.metrics)),
    seconds: (performance.now() - t0) / 1000,
  });
  const metricsPath = join(opts.runDir, 'metrics.json');
  for (const action of actions) {
    const ta = performance.now();
    const split = actionSplit(opts.dataset.samples, action);
    const result = await trainAction({
      kit: opts.kit,
      dataset: opts.dataset,
      action: action.id,
      train: split.train,
      test: split.test,
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      seed: opts.seed,
      preset: opts.preset,
      lr: opts.lr,
      select: opts.select,
      validationFraction: opts.validationFraction,
      modelOverrides: opts.modelOverrides,
      checkpointDir: join(opts.runDir, 'checkpoints', safeName(action.id)),
      resume: opts.resume,
      missingLabelRate: opts.missingLabelRate,
      onEvent: opts.onEvent,
      signal: opts.signal,
    });
    modelDescription = result.modelDescription;
    optimizerDescription = result.optimizerDescription;
    bufferTraces[action.id] = result.bufferTrace;
    const modelSeconds = (performance.now() - ta) / 1000;
    const names = opts.baselines === false ? [] : opts.baselines === true || opts.baselines === undefined ? DEFAULT_BASELINES : opts.baselines;
    const rows = await runBaselines({
      action,
      dataset: opts.dataset,
      train: split.train,
      test: split.test,
      names,
      fit: { epochs: opts.epochs, batchSize: opts.batchSize, seed: opts.seed, preset: opts.preset, lr: opts.lr, select: opts.select, validationFraction: opts.validationFraction },
      skip: opts.kit.name,
      signal: opts.signal,
      log: opts.log,
    });
    const baselines = rows.map((r) => r.metrics);
    reports.push({
      action,
      alpha: alphaOf(opts.dataset.samples, action),
      trainSize: result.trainSize,
      validationSize: result.validationSize,
      testSize: result.testSize,
      bestEpoch: result.bestEpoch,
      metrics: result.best.metrics,
      srccScore: result.best.srccScore,
      history: result.history,
      truth: result.best.truth,
      predictions: result.best.predictions,
      scores: result.best.scores,
      confusion: confusionMatrix(result.best.truth, result.best.predictions, action),
      baselines,
      seconds: modelSeconds,
      baselineSeconds: Object.fromEntries(rows.map((r) => [r.metrics.method!, r.seconds])),
    });
    if (opts.keepModels) models.set(action.id, { model: result.model, config: result.config });
    else result.model.dispose();
    // Partial results survive an interrupt of a later action.
    writeJsonAtomic(metricsPath, { ...summaryOf(), complete: false });
  }
  const summary = summaryOf();
  writeJsonAtomic(metricsPath, { ...summary, complete: true });
  files.push(metricsPath);
  const tablePath = join(opts.runDir, 'table.md');
  writeFileAtomic(tablePath, `# ${opts.name}\n\n${runTableMarkdown(summary)}`);
  files.push(tablePath);
  if (opts.plots ?? true) {
    const plots = join(opts.runDir, 'plots');
    files.push(...writeFigure(join(plots, 'training-curves'), trainingCurvesSvg(summary), opts.log));
    files.push(...writeFigure(join(plots, 'predicted-vs-true'), predictedVsTrueSvg(summary), opts.log));
    files.push(...writeFigure(join(plots, 'confusion'), confusionSvg(summary), opts.log));
  }
  return { summary, files, models, bufferTraces };
}

export interface SeedsExperimentOptions extends Omit<ExperimentOptions, 'seed' | 'keepModels'> {
  seeds: number[];
  /** The data of each seed (e.g. a synthetic set regenerated from it); default: opts.dataset for every seed. */
  datasetFor?: (seed: number) => Dataset;
  onSeed?: (seed: number, index: number) => void;
}

/**
 * The whole run repeated per seed (model init, validation split, shuffles; and the data when
 * `datasetFor` is given), each in <runDir>/seed-<s>/, summarised as mean ± std per method in
 * <runDir>/table.md and <runDir>/metrics.json (with the wall time of each seed).
 */
export async function runSeedsExperiment(opts: SeedsExperimentOptions): Promise<{ summary: SeedsSummary; runs: RunSummary[]; files: string[] }> {
  if (opts.seeds.length === 0) throw new Error('runSeedsExperiment: no seeds');
  const runs: RunSummary[] = [];
  const files: string[] = [];
  for (const [i, seed] of opts.seeds.entries()) {
    opts.onSeed?.(seed, i);
    const dataset = opts.datasetFor ? opts.datasetFor(seed) : opts.dataset;
    const r = await runExperiment({ ...opts, dataset, seed, name: `${opts.name} (seed ${seed})`, runDir: join(opts.runDir, `seed-${seed}`) });
    runs.push(r.summary);
    files.push(...r.files);
  }
  const summary = summarizeSeeds(opts.name, runs, opts.seeds);
  const metricsPath = join(opts.runDir, 'metrics.json');
  writeJsonAtomic(metricsPath, { ...summary, perSeed: runs.map((r, i) => ({ seed: opts.seeds[i], seconds: r.seconds, average: r.average, folder: join(opts.runDir, `seed-${opts.seeds[i]}`) })), complete: true });
  const tablePath = join(opts.runDir, 'table.md');
  writeFileAtomic(tablePath, `# ${opts.name}\n\n${seedsTableMarkdown(summary)}`);
  return { summary, runs, files: [metricsPath, tablePath, ...files] };
}

export function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export const PAPER_RATES = [0, 0.1, 0.3, 0.5, 0.7, 0.9];

/**
 * Removes each droppable modality from exactly round(rate·N) of the samples (chosen
 * independently per modality from a seeded stream); the kept modality (video) stays.
 */
export function dropModalities(samples: readonly Sample[], modalities: readonly string[], rate: number, seed: number): Sample[] {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`missing modality rate must be in [0, 1], got ${rate}`);
  const out = samples.map((s) => ({ ...s, modalities: { ...s.modalities } }));
  for (const m of modalities) {
    const order = shuffleInPlace(out.map((_, i) => i), deriveRng(seed, 'drop', m));
    for (const i of order.slice(0, Math.round(rate * out.length))) out[i]!.modalities[m] = undefined;
  }
  return out;
}

export function defaultKeptModality(modalities: readonly string[]): string {
  return modalities.includes('video') ? 'video' : modalities.includes('positions') ? 'positions' : modalities[0]!;
}

export interface ModalityRobustnessOptions {
  name: string;
  runDir: string;
  kit: ModelKit;
  dataset: Dataset;
  /** Trained model per action (e.g. from runExperiment with keepModels, or loaded from best.ckpt). */
  models: Map<string, { model: AQAModel; config: unknown }>;
  rates?: number[];
  /** Random draws averaged per rate (default 3). */
  repeats?: number;
  seed: number;
  /** Never removed (default video). */
  keep?: string;
  /** Removed at the given rate (default: every other modality). */
  drop?: string[];
  log?: (message: string) => void;
  onProgress?: (done: number, total: number, label: string) => void;
}

export async function runModalityRobustness(opts: ModalityRobustnessOptions): Promise<{ summary: RobustnessSummary; files: string[] }> {
  const rates = opts.rates ?? PAPER_RATES;
  const repeats = Math.max(1, opts.repeats ?? 3);
  const keep = opts.keep ?? defaultKeptModality(opts.dataset.modalities);
  const drop = opts.drop ?? opts.dataset.modalities.filter((m) => m !== keep);
  const actions = [...opts.models.keys()].map((k) => findAction(opts.dataset.actions, k));
  const total = actions.length * rates.length * repeats;
  let done = 0;
  const points: RobustnessPoint[] = [];
  for (const rate of rates) {
    const perAction: RobustnessPoint['perAction'] = {};
    for (const action of actions) {
      const { model, config } = opts.models.get(action.id)!;
      const { test } = actionSplit(opts.dataset.samples, action);
      const acc = { srcc: 0, relativeMSE: 0, accuracy: 0 };
      for (let r = 0; r < repeats; r++) {
        const samples = dropModalities(test, drop, rate, deriveSeed(opts.seed, 'robustness', action.id, rate, r));
        const ev = await evaluate(opts.kit, model, config, samples, action, { modalities: opts.dataset.modalities });
        acc.srcc += ev.metrics.srcc / repeats;
        acc.relativeMSE += ev.metrics.relativeMSE / repeats;
        acc.accuracy += ev.metrics.accuracy / repeats;
        opts.onProgress?.(++done, total, `rate ${rate} action ${action.id}`);
      }
      perAction[action.id] = acc;
    }
    points.push({ rate, perAction, average: averageMetrics(Object.values(perAction)) });
  }
  const summary: RobustnessSummary = {
    kind: 'missing-modality',
    name: opts.name,
    rates,
    points,
    actions,
    dropped: drop,
    repeats,
    note: `Trained with all modalities; at test time each of ${drop.join(', ')} is removed from the given share of samples (independently per modality, ${repeats} random draws averaged); ${keep} is always kept.`,
  };
  return { summary, files: writeRobustness(opts.runDir, 'robustness-modality', summary, opts.log) };
}

export interface LabelRobustnessOptions extends Omit<ExperimentOptions, 'missingLabelRate' | 'runDir' | 'name'> {
  name: string;
  runDir: string;
  rates?: number[];
  onRate?: (rate: number) => void;
}

export async function runLabelRobustness(opts: LabelRobustnessOptions): Promise<{ summary: RobustnessSummary; files: string[] }> {
  const rates = opts.rates ?? PAPER_RATES;
  const actions = selectActions(opts.dataset, opts.actions);
  const points: RobustnessPoint[] = [];
  for (const rate of rates) {
    opts.onRate?.(rate);
    const sub = join(opts.runDir, 'label-rates', `rate-${rate.toFixed(2)}`);
    const { summary } = await runExperiment({ ...opts, name: `${opts.name} (missing labels ${rate})`, runDir: sub, missingLabelRate: rate, baselines: false, plots: false });
    const perAction: RobustnessPoint['perAction'] = {};
    for (const a of summary.actions) perAction[a.action.id] = { srcc: a.metrics.srcc, relativeMSE: a.metrics.relativeMSE, accuracy: a.metrics.accuracy };
    points.push({ rate, perAction, average: summary.average });
  }
  const unlabeled = opts.kit.supportsUnlabeled ? 'kept for the alignment losses' : 'left out of training (the model needs a grade for every sample of a batch)';
  const summary: RobustnessSummary = {
    kind: 'missing-label',
    name: opts.name,
    rates,
    points,
    actions,
    note: `For each rate, a fresh model per action is trained with that share of its training labels hidden (seeded; at least 2 labeled samples kept); samples without a label are ${unlabeled}. Test sets are unchanged.`,
  };
  return { summary, files: writeRobustness(opts.runDir, 'robustness-label', summary, opts.log) };
}

function writeRobustness(runDir: string, base: string, summary: RobustnessSummary, log?: (m: string) => void): string[] {
  mkdirSync(join(runDir, 'plots'), { recursive: true });
  const json = join(runDir, `${base}.json`);
  writeJsonAtomic(json, summary);
  const md = join(runDir, `${base}.md`);
  writeFileAtomic(md, `${robustnessMarkdown(summary)}\n`);
  return [json, md, ...writeFigure(join(runDir, 'plots', base), robustnessSvg(summary), log)];
}

/** Loads each action's best checkpoint from a finished run folder. */
export async function loadRunModels(kit: ModelKit, runDir: string, actions: readonly ActionInfo[]): Promise<Map<string, { model: AQAModel; config: unknown }>> {
  const out = new Map<string, { model: AQAModel; config: unknown }>();
  for (const a of actions) {
    const path = join(runDir, 'checkpoints', safeName(a.id), 'best.ckpt');
    if (!existsSync(path)) throw new Error(`${path}: no checkpoint for action ${a.id}; train it first (dualalign train --out ${runDir})`);
    const loaded = await kit.load(path);
    out.set(a.id, { model: loaded.model, config: loaded.config });
  }
  return out;
}
