/**
 * Action-specific training (§5.1): one model per action, trained on that action's training
 * split with the 'paper' optimizer preset by default (SGD lr 1e-2, momentum 0.9, weight decay
 * 1e-4, cosine annealing over all steps; dropout 0.5, τ 0.1), evaluated on its test split after
 * every epoch. The best epoch (highest test SRCC, then lowest rMSE) is saved as best.ckpt;
 * last.ckpt + last.state.safetensors hold what resuming needs (model, optimizer and scheduler
 * state, the random generator, history).
 *
 * Reproducible: the engine's generator is seeded from (seed, action) before the model is built,
 * each epoch's shuffle comes from its own stream derived from (seed, action, epoch), and the
 * generator's position is saved in the checkpoint, so the same seed on the same adapter gives
 * the same metrics, resumed or not.
 *
 * Memory: each step runs in `scope()` and frees its batch; the live GPU buffer count is sampled
 * after every step (`bufferTrace`) and stays flat.
 *
 * Failure: checkpoints are only replaced by atomic renames, so an error or an interrupt
 * (AbortSignal) at any point leaves the previous ones loadable.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scope } from '../autograd/engine.js';
import { defaultGenerator, manualSeed } from '../autograd/ops/random.js';
import type { Tensor } from '../autograd/tensor.js';
import { gpuRuntime } from '../gpu/init.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../data/safetensors.js';
import { deriveRng, hashString, shuffleInPlace } from '../data/prng.js';
import type { ActionInfo, Dataset, Sample } from '../data/types.js';
import { optimizerPreset, type PresetName } from '../optim/presets.js';
import type { OptimizerState } from '../optim/optimizer.js';
import { writeFileAtomic } from '../io/atomic.node.js';
import { evaluate, toModelGrades, type EvaluationResult } from './evaluate.js';
import type { ActionMetrics } from './metrics.js';
import type { AQAModel, ModelKit } from './types.js';

export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(message = 'training interrupted') {
    super(message);
  }
}

export interface EpochRecord {
  epoch: number;
  /** Mean training losses over the epoch's steps. */
  loss: number;
  grade?: number;
  vfs?: number;
  vit?: number;
  lr: number;
  test: { srcc: number; srccDefined: boolean; relativeMSE: number; accuracy: number; srccScore: number };
  seconds: number;
}

export type TrainEvent =
  | { type: 'start'; action: string; epochs: number; stepsPerEpoch: number; startEpoch: number; trainSize: number; testSize: number; model: string; optimizer: string }
  | { type: 'step'; action: string; epoch: number; step: number; stepsPerEpoch: number; loss: number; lr: number }
  | { type: 'epoch'; action: string; record: EpochRecord; best: { epoch: number; srcc: number }; improved: boolean }
  | { type: 'done'; action: string; bestEpoch: number };

export interface TrainActionOptions {
  kit: ModelKit;
  dataset: Pick<Dataset, 'samples' | 'actions' | 'modalities'>;
  /** Action id (or name). */
  action: string;
  /** Explicit split (cross-validation); default: the samples' `split` fields. */
  train?: Sample[];
  test?: Sample[];
  epochs: number;
  batchSize: number;
  seed: number;
  preset?: PresetName;
  lr?: number;
  maxGradNorm?: number;
  /** Passed to kit.configFor (dims, dropout, ablations...). */
  modelOverrides?: Record<string, unknown>;
  /** Folder for best.ckpt / last.ckpt; none: keep the best weights in memory only. */
  checkpointDir?: string;
  /** Continue from checkpointDir/last.* when present. */
  resume?: boolean;
  /** Fraction of training samples whose grade is hidden (Fig. 15). */
  missingLabelRate?: number;
  /**
   * Which epoch's weights the result holds: 'best' (default) the highest test SRCC (the paper's
   * protocol: optimistic); 'last' the final epoch (a fixed epoch budget: the test split is only
   * reported, never used to choose).
   */
  keepEpoch?: 'best' | 'last';
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
  evalBatchSize?: number;
}

export interface TrainActionResult {
  action: ActionInfo;
  config: unknown;
  modelDescription: string;
  optimizerDescription: string;
  history: EpochRecord[];
  bestEpoch: number;
  /** Test evaluation of the best epoch's weights. */
  best: EvaluationResult;
  bestCheckpoint?: string;
  lastCheckpoint?: string;
  trainSize: number;
  labeledTrainSize: number;
  testSize: number;
  /** Live GPU buffers after every step (empty on the CPU backend). */
  bufferTrace: number[];
  resumedFromEpoch: number;
  /** The model, holding the best weights (caller disposes). */
  model: AQAModel;
}

export function findAction(actions: readonly ActionInfo[], key: string): ActionInfo {
  const k = key.trim();
  const found =
    actions.find((a) => a.id === k) ??
    actions.find((a) => a.name.toLowerCase() === k.toLowerCase()) ??
    (/^\d+$/.test(k) ? actions.find((a) => /^\d+$/.test(a.id) && Number(a.id) === Number(k)) : undefined);
  if (!found) throw new UnknownActionError(k, actions);
  return found;
}

export class UnknownActionError extends Error {
  override name = 'UnknownActionError';
  constructor(
    readonly action: string,
    readonly known: readonly ActionInfo[],
  ) {
    super(`unknown action '${action}'; the data has: ${known.map((a) => (a.name !== a.id ? `${a.id} (${a.name})` : a.id)).join(', ')}`);
  }
}

/** A 31-bit seed for (seed, labels...). */
export function deriveSeed(seed: number, ...labels: Array<string | number>): number {
  let h = hashString(String(seed >>> 0));
  for (const l of labels) h = hashString(`/${l}`, h);
  return h & 0x7fffffff;
}

/** Splits an action's samples by their `split` field. */
export function actionSplit(samples: readonly Sample[], action: ActionInfo): { train: Sample[]; test: Sample[] } {
  const mine = samples.filter((s) => s.action === action.id);
  const train = mine.filter((s) => s.split !== 'test');
  const test = mine.filter((s) => s.split === 'test');
  if (mine.length === 0) throw new Error(`action '${action.id}' has no samples`);
  if (test.length === 0) throw new Error(`action '${action.id}' has no test samples (no sample has split 'test'); give the manifest a split column`);
  if (train.length === 0) throw new Error(`action '${action.id}' has no training samples`);
  return { train, test };
}

/** Hides the grades of round(rate·N) training samples (seeded), keeping at least 2 labeled. */
export function hideLabels(train: readonly Sample[], rate: number, seed: number): Sample[] {
  if (!(rate >= 0 && rate < 1)) throw new Error(`missing label rate must be in [0, 1), got ${rate}`);
  const n = train.length;
  const hidden = Math.min(Math.round(rate * n), Math.max(0, n - 2));
  const order = shuffleInPlace(train.map((_, i) => i), deriveRng(seed, 'missing-labels'));
  const drop = new Set(order.slice(0, hidden));
  return train.map((s, i) => (drop.has(i) ? { ...s, grade: undefined } : s));
}

const LAST_CKPT = 'last.ckpt';
const LAST_STATE = 'last.state.safetensors';
const BEST_CKPT = 'best.ckpt';

interface SavedState {
  tag: string;
  epoch: number;
  history: EpochRecord[];
  bestEpoch: number;
  bestKey: [number, number];
  generator: { seed: number; counter: number };
  scheduler: { stepCount: number };
  optimizer: Omit<OptimizerState, 'state'>;
  seed: number;
  action: string;
  /** Planned epochs: the learning-rate schedule spans them, so a resume must use the same number. */
  epochs: number;
  batchSize: number;
}

async function saveState(dir: string, state: SavedState, optim: OptimizerState): Promise<void> {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [k, v] of Object.entries(optim.state)) tensors[k] = { dtype: 'F32', shape: v.shape, data: Float32Array.from(v.data) };
  writeFileAtomic(join(dir, LAST_STATE), encodeSafetensors(tensors, { format: 'dualalign-gpu/train-state', state: JSON.stringify(state) }));
}

function loadState(dir: string): { state: SavedState; optim: OptimizerState } {
  const path = join(dir, LAST_STATE);
  const file = decodeSafetensors(readFileSync(path), path);
  if (file.metadata.format !== 'dualalign-gpu/train-state') throw new Error(`${path}: not a training-state file`);
  const state = JSON.parse(file.metadata.state!) as SavedState;
  const optim: OptimizerState = { ...state.optimizer, state: {} };
  for (const [k, v] of Object.entries(file.tensors)) optim.state[k] = { data: Float32Array.from(v.data as Float32Array), shape: v.shape };
  return { state, optim };
}

function betterThan(a: [number, number], b: [number, number]): boolean {
  // Higher SRCC first, then lower rMSE.
  return a[0] > b[0] + 1e-12 || (Math.abs(a[0] - b[0]) <= 1e-12 && a[1] < b[1] - 1e-12);
}

async function readScalar(t: Tensor | undefined): Promise<number | undefined> {
  return t ? await t.item() : undefined;
}

export async function trainAction(opts: TrainActionOptions): Promise<TrainActionResult> {
  const { kit, dataset } = opts;
  const action = findAction(dataset.actions, opts.action);
  if (!(Number.isInteger(opts.epochs) && opts.epochs >= 1)) throw new Error(`epochs must be a positive integer, got ${opts.epochs}`);
  if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
  const split = opts.train && opts.test ? { train: opts.train, test: opts.test } : actionSplit(dataset.samples, action);
  const seed = deriveSeed(opts.seed, action.id);

  let trainAll = split.train;
  if (opts.missingLabelRate) trainAll = hideLabels(trainAll, opts.missingLabelRate, seed);
  const labeled = trainAll.filter((s) => s.grade !== undefined);
  const trainSamples = toModelGrades(kit.supportsUnlabeled ? trainAll : labeled, action);
  const modelAction: ActionInfo = { ...action, minGrade: 0, maxGrade: action.numGrades - 1 };

  manualSeed(seed);
  const config = kit.configFor(dataset, modelAction, toModelGrades(split.train, action), opts.modelOverrides ?? {});
  const model = kit.create(config);
  model.train();
  const stepsPerEpoch = Math.ceil(trainSamples.length / opts.batchSize);
  const preset = optimizerPreset(opts.preset ?? 'paper', model.trainableParameters(), {
    epochs: opts.epochs,
    stepsPerEpoch,
    lr: opts.lr,
    maxGradNorm: opts.maxGradNorm,
  });
  const { optimizer, scheduler } = preset;

  let history: EpochRecord[] = [];
  let bestEpoch = 0;
  let bestKey: [number, number] = [-Infinity, Infinity];
  let startEpoch = 1;
  const dir = opts.checkpointDir;
  const bestPath = dir ? join(dir, BEST_CKPT) : undefined;
  const lastPath = dir ? join(dir, LAST_CKPT) : undefined;
  let bestInMemory: Record<string, Float32Array> | null = null;
  if (dir) mkdirSync(dir, { recursive: true });

  try {
    if (opts.resume && dir && existsSync(join(dir, LAST_CKPT)) && existsSync(join(dir, LAST_STATE))) {
      const { state, optim } = loadState(dir);
      const loaded = await kit.load(join(dir, LAST_CKPT));
      try {
        if (loaded.extra.tag !== state.tag) {
          throw new Error(`${dir}: ${LAST_CKPT} (tag ${String(loaded.extra.tag)}) and ${LAST_STATE} (tag ${state.tag}) are from different epochs; delete both to start over`);
        }
        if (state.action !== action.id) throw new Error(`${dir}: the checkpoint is for action '${state.action}', not '${action.id}'`);
        if (state.epochs !== opts.epochs || state.batchSize !== opts.batchSize) {
          throw new Error(
            `${dir}: this run was started with ${state.epochs} epochs and batch size ${state.batchSize} (the learning-rate schedule spans them); resume with --epochs ${state.epochs} --batch-size ${state.batchSize}, or start a new run`,
          );
        }
        await model.loadStateDict(loaded.model.stateDict());
      } finally {
        loaded.model.dispose();
      }
      await optimizer.loadStateDict(optim);
      scheduler.loadStateDict(state.scheduler); // also sets the optimizer's lr for the current step
      defaultGenerator.seed = state.generator.seed;
      defaultGenerator.counter = state.generator.counter;
      history = state.history;
      bestEpoch = state.bestEpoch;
      bestKey = state.bestKey;
      startEpoch = state.epoch + 1;
    }

    opts.onEvent?.({
      type: 'start',
      action: action.id,
      epochs: opts.epochs,
      stepsPerEpoch,
      startEpoch,
      trainSize: trainSamples.length,
      testSize: split.test.length,
      model: kit.describe(config),
      optimizer: preset.description,
    });

    const bufferTrace: number[] = [];
    const runtime = gpuRuntime();
    for (let epoch = startEpoch; epoch <= opts.epochs; epoch++) {
      const t0 = performance.now();
      const order = shuffleInPlace(trainSamples.map((_, i) => i), deriveRng(seed, 'epoch', epoch));
      const sums = { loss: 0, grade: 0, vfs: 0, vit: 0 };
      const seen = { grade: false, vfs: false, vit: false };
      let steps = 0;
      let lr = optimizer.lr;
      for (let step = 0; step < stepsPerEpoch; step++) {
        if (opts.signal?.aborted) throw new InterruptedError(`training of action '${action.id}' interrupted in epoch ${epoch}`);
        const chunk = order.slice(step * opts.batchSize, (step + 1) * opts.batchSize).map((i) => trainSamples[i]!);
        lr = optimizer.lr;
        const values = await scope(async () => {
          const batch = kit.collate(chunk, config);
          try {
            const terms = model.loss(batch);
            terms.total.backward();
            optimizer.step({ loss: terms.total });
            optimizer.zeroGrad();
            scheduler.step();
            return {
              total: (await readScalar(terms.total))!,
              grade: await readScalar(terms.grade),
              vfs: await readScalar(terms.vfs),
              vit: await readScalar(terms.vit),
            };
          } finally {
            kit.disposeBatch(batch);
          }
        });
        if (runtime) bufferTrace.push(runtime.poolStats().liveBuffers);
        sums.loss += values.total;
        for (const k of ['grade', 'vfs', 'vit'] as const) {
          if (values[k] !== undefined) {
            sums[k] += values[k]!;
            seen[k] = true;
          }
        }
        steps++;
        opts.onEvent?.({ type: 'step', action: action.id, epoch, step: step + 1, stepsPerEpoch, loss: values.total, lr });
      }

      const evaluation = await evaluate(kit, model, config, split.test, action, { batchSize: opts.evalBatchSize, modalities: dataset.modalities });
      const m = evaluation.metrics;
      const record: EpochRecord = {
        epoch,
        loss: sums.loss / Math.max(steps, 1),
        ...(seen.grade ? { grade: sums.grade / steps } : {}),
        ...(seen.vfs ? { vfs: sums.vfs / steps } : {}),
        ...(seen.vit ? { vit: sums.vit / steps } : {}),
        lr,
        test: { srcc: m.srcc, srccDefined: m.srccDefined ?? true, relativeMSE: m.relativeMSE, accuracy: m.accuracy, srccScore: evaluation.srccScore },
        seconds: (performance.now() - t0) / 1000,
      };
      history.push(record);
      const key: [number, number] = [m.srcc, m.relativeMSE];
      const improved = opts.keepEpoch === 'last' ? epoch === opts.epochs : betterThan(key, bestKey);
      if (improved) {
        bestKey = key;
        bestEpoch = epoch;
      }
      const tag = `${action.id}-e${epoch}-${seed}-${Date.now()}`;
      const extra = { tag, epoch, action, kit: kit.name, seed: opts.seed, modalities: dataset.modalities, metrics: m };
      if (dir) {
        if (improved) await kit.save(bestPath!, model, config, { ...extra, best: true });
        // Model first, then the state that names it: a crash in between is detected by the tag on resume.
        await kit.save(lastPath!, model, config, extra);
        const { state: optimState, ...optimMeta } = await optimizer.stateDict();
        await saveState(dir, {
          tag,
          epoch,
          history,
          bestEpoch,
          bestKey,
          generator: { seed: defaultGenerator.seed, counter: defaultGenerator.counter },
          scheduler: scheduler.stateDict(),
          optimizer: optimMeta,
          seed: opts.seed,
          action: action.id,
          epochs: opts.epochs,
          batchSize: opts.batchSize,
        }, { ...optimMeta, state: optimState });
      } else if (improved) {
        bestInMemory = {};
        for (const [k, t] of Object.entries(model.stateDict())) bestInMemory[k] = Float32Array.from(await t.data());
      }
      opts.onEvent?.({ type: 'epoch', action: action.id, record, best: { epoch: bestEpoch, srcc: bestKey[0] }, improved });
    }

    // Restore the best weights and evaluate them once more (predictions for the plots).
    if (dir && bestPath && existsSync(bestPath)) {
      const loaded = await kit.load(bestPath);
      try {
        await model.loadStateDict(loaded.model.stateDict());
      } finally {
        loaded.model.dispose();
      }
    } else if (bestInMemory) {
      await model.loadStateDict(Object.fromEntries(Object.entries(bestInMemory).map(([k, v]) => [k, { data: v, shape: model.stateDict()[k]!.shape }])));
    }
    const best = await evaluate(kit, model, config, split.test, action, { batchSize: opts.evalBatchSize, modalities: dataset.modalities });
    opts.onEvent?.({ type: 'done', action: action.id, bestEpoch });
    optimizer.dispose();
    return {
      action,
      config,
      modelDescription: kit.describe(config),
      optimizerDescription: preset.description,
      history,
      bestEpoch,
      best,
      bestCheckpoint: bestPath,
      lastCheckpoint: lastPath,
      trainSize: trainSamples.length,
      labeledTrainSize: labeled.length,
      testSize: split.test.length,
      bufferTrace,
      resumedFromEpoch: startEpoch - 1,
      model,
    };
  } catch (error) {
    optimizer.dispose();
    model.dispose();
    throw error;
  }
}

export type { ActionMetrics };
