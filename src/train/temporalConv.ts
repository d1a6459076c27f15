/**
 * A temporal baseline on the anchor stream alone (video, or joint positions for skeleton-only
 * data): a small temporal convolution network. Unlike the pooled MLP it sees the frames in
 * order, so it can use order, timing and phase, but it has no other modality and no alignment:
 * what DualAlign gains over it comes from the fusion.
 *
 *   x [B, T, D]  the anchor's frames (a [T, J, C] skeleton flattened to [T, J·C]), each channel
 *                standardised with the training set's mean and std (buffers in the checkpoint)
 *   → Linear(D, H) + GELU
 *   → L residual blocks: TemporalConv1d(H, H, k, dilation 2^l) + GELU ('same' padding)
 *   → mean and standard deviation over time ([B, 2H]) → dropout → Linear(2H, G)
 *   → cross-entropy over the grades.
 * The std pooling lets it use how much the (convolved) frames vary, as the pooled baselines do;
 * the convolutions add what they cannot see: order, timing, phase.
 *
 * The convolutions are the engine's TemporalConv1d (shifted views + one matmul), cheaper on a
 * CPU adapter than a GRU's step-by-step loop. Every sample must have the anchor with the same
 * number of frames as the training data (resample beforehand; the UI-PRMD loader does).
 */
import { tensor } from '../autograd/ops/creation.js';
import { add, gelu, mul, sqrt, sub } from '../autograd/ops/elementwise.js';
import { concat } from '../autograd/ops/shape.js';
import { crossEntropy } from '../autograd/ops/losses.js';
import { mean } from '../autograd/ops/reduce.js';
import type { Tensor } from '../autograd/tensor.js';
import type { ActionInfo, Dataset, Sample } from '../data/types.js';
import { Module, ModuleList } from '../nn/module.js';
import { Dropout, Linear, TemporalConv1d } from '../nn/layers.js';
import { loadStatsCheckpoint, saveStatsCheckpoint } from './statsCheckpoint.node.js';
import { classifierPrediction } from './classifierPrediction.js';
import type { AQAModel, BatchPrediction, LoadedCheckpoint, LossTerms, ModelKit } from './types.js';

export interface TemporalConvConfig {
  kind: 'temporal-conv';
  /** The modality it reads (the anchor). */
  stream: string;
  /** Frames per sample (T) and values per frame (D). */
  frames: number;
  frameSize: number;
  numGrades: number;
  hidden: number;
  /** Residual convolution blocks; block l has dilation 2^l. */
  layers: number;
  kernelSize: number;
  dropout: number;
  /** Per-channel standardisation of the training set (not needed once a checkpoint holds the buffers). */
  stats?: { mean: number[]; std: number[] };
}

export interface TemporalBatch {
  x: Tensor;
  grades?: Tensor;
  size: number;
  presence: Record<string, boolean[]>;
  ids: string[];
}

/** The anchor a temporal baseline reads: video when there is one, else joint positions, else the first sequence. */
export function anchorStream(modalities: readonly string[], samples: readonly Sample[]): string {
  for (const m of ['video', 'positions']) if (modalities.includes(m) && samples.some((s) => s.modalities[m])) return m;
  const seq = modalities.find((m) => samples.some((s) => (s.modalities[m]?.shape.length ?? 0) >= 2));
  if (!seq) throw new Error(`temporal baseline: no sequence modality among ${modalities.join(', ')} (it needs one shaped [T, ...])`);
  return seq;
}

export class TemporalConvNet extends Module implements AQAModel {
  readonly embed: Linear;
  readonly blocks: ModuleList<TemporalConv1d>;
  readonly drop: Dropout;
  readonly head: Linear;
  readonly featMean: Tensor;
  readonly featStd: Tensor;
  constructor(readonly config: TemporalConvConfig) {
    super();
    const { frameSize: d, hidden: h } = config;
    this.embed = this.registerModule('embed', new Linear(d, h, { activation: 'gelu' }));
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: config.layers }, (_, l) => new TemporalConv1d(h, h, config.kernelSize, { dilation: 2 ** l }))));
    this.drop = this.registerModule('drop', new Dropout(config.dropout));
    this.head = this.registerModule('head', new Linear(2 * h, config.numGrades));
    this.featMean = this.registerBuffer('featMean', tensor(Float32Array.from(config.stats?.mean ?? new Array<number>(d).fill(0)), [d]));
    this.featStd = this.registerBuffer('featStd', tensor(Float32Array.from(config.stats?.std ?? new Array<number>(d).fill(1)), [d]));
  }
  /** [B, T, D] standardised frames -> [B, G] logits. */
  forward(x: Tensor): Tensor {
    let h = this.embed.forward(x);
    for (const conv of this.blocks) h = add(h, gelu(conv.forward(h)));
    const mu = mean(h, 1, true); // [B, 1, H]
    const d = sub(h, mu);
    const sd = sqrt(add(mean(mul(d, d), 1), 1e-5)); // [B, H]
    return this.head.forward(this.drop.forward(concat([mean(h, 1), sd], 1)));
  }
  loss(batch: TemporalBatch): LossTerms {
    if (!batch.grades) throw new Error('TemporalConvNet.loss: the batch has no grades');
    const grade = crossEntropy(this.forward(batch.x), batch.grades);
    return { total: grade, grade };
  }
  predict(batch: TemporalBatch): Promise<BatchPrediction> {
    return classifierPrediction(() => this.forward(batch.x), this.config.numGrades, batch.size, batch.presence);
  }
}

/** The anchor's frames of each sample, checked against the training shape. */
function framesOf(samples: readonly Sample[], config: Pick<TemporalConvConfig, 'stream' | 'frames' | 'frameSize'>): Float32Array {
  const { stream, frames, frameSize } = config;
  const out = new Float32Array(samples.length * frames * frameSize);
  samples.forEach((s, i) => {
    const f = s.modalities[stream];
    if (!f) throw new Error(`temporal baseline: sample '${s.id}' has no '${stream}' (the stream it reads)`);
    const T = f.shape[0]!;
    const per = f.shape.length >= 2 ? f.data.length / T : 0;
    if (f.shape.length < 2 || T !== frames || per !== frameSize) {
      throw new Error(`temporal baseline: sample '${s.id}' has '${stream}' shaped [${f.shape.join(', ')}], the training data [${frames}, ${frameSize}] (flattened per frame); resample to ${frames} frames`);
    }
    out.set(f.data, i * frames * frameSize);
  });
  return out;
}

const hostStats = new WeakMap<TemporalConvConfig, { mean: Float32Array; inv: Float32Array }>();

function statsOf(config: TemporalConvConfig): { mean: Float32Array; inv: Float32Array } {
  let s = hostStats.get(config);
  if (!s) {
    if (!config.stats) throw new Error('TemporalConvNet: config has no feature statistics');
    s = { mean: Float32Array.from(config.stats.mean), inv: Float32Array.from(config.stats.std, (v) => 1 / v) };
    hostStats.set(config, s);
  }
  return s;
}

export const temporalConvKit: ModelKit<TemporalConvConfig> = {
  name: 'tcn',
  supportsUnlabeled: false,
  describe(c) {
    return `temporal conv net on ${c.stream} [${c.frames} × ${c.frameSize} → ${c.hidden}, ${c.layers} residual conv blocks k=${c.kernelSize} (dilations ${Array.from({ length: c.layers }, (_, l) => 2 ** l).join(', ')}), mean+std over time → ${c.numGrades}], dropout ${c.dropout}`;
  },
  configFor(dataset: Pick<Dataset, 'modalities'>, action: ActionInfo, trainSamples: readonly Sample[], overrides = {}) {
    const stream = (overrides.stream as string | undefined) ?? anchorStream((overrides.modalities as string[] | undefined) ?? dataset.modalities, trainSamples);
    const first = trainSamples.find((s) => s.modalities[stream])?.modalities[stream];
    if (!first || first.shape.length < 2) throw new Error(`temporal baseline: '${stream}' is not a sequence [T, ...] in the training data`);
    const frames = first.shape[0]!;
    const frameSize = first.data.length / frames;
    const x = framesOf(trainSamples, { stream, frames, frameSize });
    const rows = x.length / frameSize;
    const sum = new Float64Array(frameSize);
    const sq = new Float64Array(frameSize);
    for (let i = 0; i < x.length; i++) {
      sum[i % frameSize] += x[i]!;
      sq[i % frameSize] += x[i]! * x[i]!;
    }
    const mu = Array.from(sum, (v) => v / rows);
    return {
      kind: 'temporal-conv',
      stream,
      frames,
      frameSize,
      numGrades: action.numGrades,
      hidden: (overrides.hidden as number[] | undefined)?.[0] ?? 32,
      layers: (overrides.layers as number | undefined) ?? 2,
      kernelSize: (overrides.kernelSize as number | undefined) ?? 3,
      dropout: (overrides.dropout as number | undefined) ?? 0.2,
      // Rounded to float32 as the checkpoint stores them, so a reloaded model standardises identically.
      stats: { mean: mu.map(Math.fround), std: Array.from(sq, (v, c) => Math.fround(Math.max(1e-6, Math.sqrt(Math.max(0, v / rows - mu[c]! ** 2))))) },
    };
  },
  create(config) {
    return new TemporalConvNet(config);
  },
  collate(samples, config): TemporalBatch {
    const n = samples.length;
    const x = framesOf(samples, config);
    const { mean: mu, inv } = statsOf(config);
    const D = config.frameSize;
    for (let i = 0; i < x.length; i++) x[i] = (x[i]! - mu[i % D]!) * inv[i % D]!;
    const batch: TemporalBatch = { x: tensor(x, [n, config.frames, D]), size: n, presence: { [config.stream]: samples.map(() => true) }, ids: samples.map((s) => s.id) };
    if (samples.every((s) => s.grade !== undefined)) batch.grades = tensor(Int32Array.from(samples, (s) => s.grade!), [n], { dtype: 'int32' });
    return batch;
  },
  disposeBatch(batch) {
    const b = batch as TemporalBatch;
    b.x.dispose();
    b.grades?.dispose();
  },
  save(path, model, config, extra) {
    return saveStatsCheckpoint(path, 'dualalign-gpu/temporal-conv', model as TemporalConvNet, config, extra);
  },
  load(path): Promise<LoadedCheckpoint<TemporalConvConfig>> {
    return loadStatsCheckpoint(path, 'dualalign-gpu/temporal-conv', 'temporal-conv', (config: TemporalConvConfig) => new TemporalConvNet(config));
  },

};
