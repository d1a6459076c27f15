/**
 * A small model on the engine for when DualAlign is not wanted (or not available): every
 * modality is pooled over time (mean and std per feature, features.ts), standardized with the
 * training set's statistics (kept as buffers in the checkpoint), concatenated and classified by
 * an MLP into the action's grades with cross-entropy. A missing modality contributes zeros
 * (the training mean). It doubles as the "pooled MLP" baseline row of the tables.
 */
import { tensor } from '../autograd/ops/creation.js';
import { crossEntropy } from '../autograd/ops/losses.js';
import type { Tensor } from '../autograd/tensor.js';
import type { ActionInfo, Sample } from '../data/types.js';
import { Module } from '../nn/module.js';
import { MLP } from '../nn/layers.js';
import { loadStatsCheckpoint, saveStatsCheckpoint } from './statsCheckpoint.node.js';
import { classifierPrediction } from './classifierPrediction.js';
import { columnStats, pooledFeatures, pooledLayout, standardize, type PooledLayout } from './features.js';
import type { AQAModel, BatchPrediction, LoadedCheckpoint, LossTerms, ModelKit } from './types.js';

export interface PooledMlpConfig {
  kind: 'pooled-mlp';
  layout: PooledLayout;
  numGrades: number;
  hidden: number[];
  dropout: number;
  /** Standardisation statistics of the training set (not needed once a checkpoint holds the buffers). */
  stats?: { mean: number[]; std: number[] };
}

export interface PooledBatch {
  x: Tensor;
  grades?: Tensor;
  size: number;
  presence: Record<string, boolean[]>;
  ids: string[];
}

export class PooledMlp extends Module implements AQAModel {
  readonly mlp: MLP;
  readonly featMean: Tensor;
  readonly featStd: Tensor;
  constructor(readonly config: PooledMlpConfig) {
    super();
    const d = config.layout.total;
    this.mlp = this.registerModule('mlp', new MLP([d, ...config.hidden, config.numGrades], { dropout: config.dropout, activation: 'gelu' }));
    this.featMean = this.registerBuffer('featMean', tensor(Float32Array.from(config.stats?.mean ?? new Array<number>(d).fill(0)), [d]));
    this.featStd = this.registerBuffer('featStd', tensor(Float32Array.from(config.stats?.std ?? new Array<number>(d).fill(1)), [d]));
  }
  forward(x: Tensor): Tensor {
    return this.mlp.forward(x);
  }
  loss(batch: PooledBatch): LossTerms {
    if (!batch.grades) throw new Error('PooledMlp.loss: the batch has no grades');
    const grade = crossEntropy(this.forward(batch.x), batch.grades);
    return { total: grade, grade };
  }
  predict(batch: PooledBatch): Promise<BatchPrediction> {
    return classifierPrediction(() => this.forward(batch.x), this.config.numGrades, batch.size, batch.presence);
  }
}

/** Host-side standardisation needs the statistics; the model keeps them as buffers, the kit caches a host copy per model. */
const hostStats = new WeakMap<PooledMlpConfig, { mean: Float32Array; std: Float32Array }>();

function statsOf(config: PooledMlpConfig): { mean: Float32Array; std: Float32Array } {
  let s = hostStats.get(config);
  if (!s) {
    if (!config.stats) throw new Error('PooledMlp: config has no feature statistics');
    s = { mean: Float32Array.from(config.stats.mean), std: Float32Array.from(config.stats.std) };
    hostStats.set(config, s);
  }
  return s;
}

export const pooledMlpKit: ModelKit<PooledMlpConfig> = {
  name: 'mlp',
  supportsUnlabeled: false,
  describe(c) {
    return `pooled MLP [${c.layout.total} → ${c.hidden.join(' → ')} → ${c.numGrades}] over ${c.layout.modalities.join(', ')}, dropout ${c.dropout}`;
  },
  configFor(dataset, action: ActionInfo, trainSamples: readonly Sample[], overrides = {}) {
    const modalities = (overrides.modalities as string[] | undefined) ?? dataset.modalities;
    const layout = pooledLayout(trainSamples, modalities);
    const x = pooledFeatures(trainSamples, layout);
    const { mean, std } = columnStats(x, trainSamples.length, layout.total);
    return {
      kind: 'pooled-mlp',
      layout,
      numGrades: action.numGrades,
      hidden: (overrides.hidden as number[] | undefined) ?? [64],
      dropout: (overrides.dropout as number | undefined) ?? 0.5,
      stats: { mean: Array.from(mean), std: Array.from(std) },
    };
  },
  create(config) {
    return new PooledMlp(config);
  },
  collate(samples, config): PooledBatch {
    const n = samples.length;
    const presence: Record<string, boolean[]> = {};
    for (const m of config.layout.modalities) presence[m] = samples.map((s) => s.modalities[m] !== undefined);
    const present = samples.map((s) => config.layout.modalities.map((m) => s.modalities[m] !== undefined));
    const x = standardize(pooledFeatures(samples, config.layout), n, config.layout, statsOf(config), present);
    const batch: PooledBatch = { x: tensor(x, [n, config.layout.total]), size: n, presence, ids: samples.map((s) => s.id) };
    if (samples.every((s) => s.grade !== undefined)) batch.grades = tensor(Int32Array.from(samples, (s) => s.grade!), [n], { dtype: 'int32' });
    return batch;
  },
  disposeBatch(batch) {
    const b = batch as PooledBatch;
    b.x.dispose();
    b.grades?.dispose();
  },
  save(path, model, config, extra) {
    return saveStatsCheckpoint(path, 'dualalign-gpu/pooled-mlp', model as PooledMlp, config, extra);
  },
  load(path): Promise<LoadedCheckpoint<PooledMlpConfig>> {
    return loadStatsCheckpoint(path, 'dualalign-gpu/pooled-mlp', 'pooled-MLP', (config: PooledMlpConfig) => new PooledMlp(config));
  },

};
