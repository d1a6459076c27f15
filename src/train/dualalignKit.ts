/**
 * DualAlign as a ModelKit: builds the per-action DualAlign config from the data's modalities
 * and feature shapes (the paper's layout for MM-JDM-style data, skeletonOnlyConfig for joint
 * positions + angles + text such as UI-PRMD, a generic mapping otherwise), collates with
 * src/models/batch.ts and checkpoints with src/models/checkpoint.node.ts.
 *
 * Overrides (CLI flags / demo): d1, d2, d3, heads, dropout, tau, lambda1, lambda2, clips,
 * gcnChannels (every graph stream), alignment, fusionMode, order, removeModalities,
 * modalityDropout, stage1Arrangement, enhanceKeys, labelSmoothing, logitScale, seed;
 * standardize (default true, see below); config (any other DualAlignConfig fields).
 *
 * Input standardisation: the backbone features of the linear streams (video, flow, per-frame
 * features), the CLIP image frames and the text embedding come on very different scales (e.g.
 * L2-normalised CLIP frames ~0.04 per channel next to VST features ~1). The kit standardises each
 * channel with the mean and standard deviation of the action's training samples (as the ridge
 * baseline does); the statistics are part of the kit config, so checkpoints carry them and eval /
 * predict apply the same transform. Graph (skeleton) streams are normalised by the model itself.
 */
import type { ActionInfo, Dataset, FeatureArray, Sample } from '../data/types.js';
import type { JointLayoutSpec } from '../nn/graph.js';
import { collate, disposeBatch, type Batch } from '../models/batch.js';
import { PAPER_FUSION, resolveConfig, skeletonOnlyConfig, type DualAlignConfig, type StreamSpec } from '../models/config.js';
import { DualAlign } from '../models/dualalign.js';
import { graphInputStats } from '../models/blocks.js';
import { loadCheckpoint, saveCheckpoint } from '../models/checkpoint.node.js';
import type { AQAModel, BatchPrediction, LoadedCheckpoint, LossTerms, ModelKit } from './types.js';

const LAYOUT_BY_JOINTS: Record<number, JointLayoutSpec> = { 17: 'coco17', 22: 'uiprmd22', 25: 'kinect25', 26: 'halpe26' };

const PASSTHROUGH = [
  'd1', 'd2', 'd3', 'heads', 'dropout', 'attnDropout', 'tau', 'lambda1', 'lambda2', 'clips', 'alignment', 'fusionMode', 'order',
  'removeModalities', 'modalityDropout', 'stage1Arrangement', 'enhanceKeys', 'labelSmoothing', 'logitScale', 'seed',
  'ordinalSigma', 'gradeDecision', 'temporalEncoding', 'stage1Activation', 'clipSync', 'centerTime', 'pooling',
] as const;

function firstFeature(samples: readonly Sample[], name: string): FeatureArray | undefined {
  for (const s of samples) if (s.modalities[name]) return s.modalities[name];
  return undefined;
}

function layoutFor(joints: number, name: string): JointLayoutSpec {
  const known = LAYOUT_BY_JOINTS[joints];
  if (known) return known;
  // No known skeleton: a chain through the joints in order keeps the graph connected.
  process.emitWarning?.(`DualAlign: no built-in joint layout for ${joints} joints ('${name}'); using a chain`);
  return { joints, edges: Array.from({ length: joints - 1 }, (_, j) => [j, j + 1] as const) };
}

/** The DualAlign config for the data's modalities (before overrides). */
export function dualAlignConfigForData(modalities: readonly string[], samples: readonly Sample[], numGrades: number): DualAlignConfig {
  const has = (m: string): boolean => modalities.includes(m) && firstFeature(samples, m) !== undefined;
  const dim = (m: string): number => {
    const f = firstFeature(samples, m)!;
    return f.shape.length === 1 ? f.shape[0]! : f.data.length / f.shape[0]!;
  };
  const textSpec = has('text') ? { name: 'text', inputDim: firstFeature(samples, 'text')!.data.length } : null;
  if (has('positions') && !has('video')) {
    const pos = firstFeature(samples, 'positions')!;
    if (pos.shape.length !== 3) throw new Error(`DualAlign: 'positions' must be [T, J, C], got [${pos.shape.join(', ')}]`);
    const cfg = skeletonOnlyConfig({
      numGrades,
      layout: layoutFor(pos.shape[1]!, 'positions'),
      channels: pos.shape[2]!,
      angles: has('angles') ? 'angles' : null,
      text: false,
      trainSamples: samples,
    });
    cfg.text = textSpec;
    return cfg;
  }
  const streams: StreamSpec[] = [];
  for (const m of modalities) {
    if (m === 'image' || m === 'text' || !has(m)) continue;
    const f = firstFeature(samples, m)!;
    if (f.shape.length === 3) streams.push({ name: m, kind: 'graph', inputDim: f.shape[2]!, layout: layoutFor(f.shape[1]!, m), inputNorm: m === 'angles' ? 'scale' : 'center' });
    else if (f.shape.length === 2) streams.push({ name: m, kind: 'linear', inputDim: f.shape[1]! });
  }
  if (streams.length === 0) throw new Error(`DualAlign: no visual stream among the modalities (${modalities.join(', ')}); it needs at least one [T, C] or [T, J, C] modality`);
  const anchor = streams.some((s) => s.name === 'video') ? 'video' : streams[0]!.name;
  const paperLayout = ['video', 'flow', 'skeleton'].every((m) => streams.some((s) => s.name === m));
  return {
    numGrades,
    streams,
    anchor,
    ...(paperLayout ? { fusion: PAPER_FUSION } : {}),
    image: has('image') ? { name: 'image', inputDim: dim('image'), kernelSize: 3 } : null,
    text: textSpec,
  };
}

export function applyOverrides(cfg: DualAlignConfig, overrides: Record<string, unknown>): DualAlignConfig {
  const out: DualAlignConfig = { ...cfg };
  for (const k of PASSTHROUGH) if (overrides[k] !== undefined) (out as Record<string, unknown>)[k] = overrides[k];
  if (overrides.gcnChannels !== undefined) out.streams = (out.streams ?? []).map((s) => (s.kind === 'graph' ? { ...s, gcnChannels: overrides.gcnChannels as number[] } : s));
  if (overrides.config && typeof overrides.config === 'object') Object.assign(out, overrides.config);
  return out;
}

/** The kit's per-action config: the model's config plus the input standardisation. */
export interface DualAlignKitConfig {
  model: DualAlignConfig;
  /** Per modality, per channel (last axis) mean and std of the training samples. */
  inputStats?: Record<string, { mean: number[]; std: number[] }>;
}

interface Stored {
  kit: 'dualalign';
  config: DualAlignKitConfig;
  extra: Record<string, unknown>;
}

/** Modalities the kit standardises: linear streams, image, text. */
function standardizedModalities(cfg: DualAlignConfig): string[] {
  const r = resolveConfig(cfg);
  return [...r.streams.filter((st) => st.kind === 'linear').map((st) => st.name), ...(r.image ? [r.image.name] : []), ...(r.text ? [r.text.name] : [])];
}

export function fitInputStats(samples: readonly Sample[], modalities: readonly string[]): Record<string, { mean: number[]; std: number[] }> {
  const out: Record<string, { mean: number[]; std: number[] }> = {};
  for (const m of modalities) {
    const first = firstFeature(samples, m);
    if (!first) continue;
    const C = first.shape[first.shape.length - 1]!;
    const sum = new Float64Array(C);
    const sq = new Float64Array(C);
    let rows = 0;
    for (const smp of samples) {
      const f = smp.modalities[m];
      if (!f || f.shape[f.shape.length - 1] !== C) continue;
      const d = f.data;
      for (let i = 0; i < d.length; i++) {
        const c = i % C;
        sum[c] += d[i]!;
        sq[c] += d[i]! * d[i]!;
      }
      rows += d.length / C;
    }
    if (rows === 0) continue;
    const mean = Array.from(sum, (v) => v / rows);
    out[m] = { mean, std: Array.from(sq, (v, c) => Math.max(1e-6, Math.sqrt(Math.max(0, v / rows - mean[c]! ** 2)))) };
  }
  return out;
}

const statsCache = new WeakMap<object, Record<string, { mean: Float32Array; inv: Float32Array }>>();

function standardize(samples: readonly Sample[], config: DualAlignKitConfig): Sample[] {
  const stats = config.inputStats;
  if (!stats || Object.keys(stats).length === 0) return [...samples];
  let cached = statsCache.get(config);
  if (!cached) {
    cached = {};
    for (const [m, st] of Object.entries(stats)) cached[m] = { mean: Float32Array.from(st.mean), inv: Float32Array.from(st.std, (v) => 1 / v) };
    statsCache.set(config, cached);
  }
  return samples.map((smp) => {
    const modalities = { ...smp.modalities };
    for (const [m, st] of Object.entries(cached!)) {
      const f = modalities[m];
      if (!f) continue;
      const C = st.mean.length;
      if (f.shape[f.shape.length - 1] !== C) continue; // shape errors are reported by collate
      const d = new Float32Array(f.data.length);
      for (let i = 0; i < d.length; i++) {
        const c = i % C;
        d[i] = (f.data[i]! - st.mean[c]!) * st.inv[c]!;
      }
      modalities[m] = { data: d, shape: f.shape };
    }
    return { ...smp, modalities };
  });
}

/** DualAlign's predict() gives grades and probabilities; the trainer also wants the expected grade. */
class KitModel {
  static wrap(model: DualAlign): AQAModel {
    const m = model as unknown as AQAModel & { __wrapped?: boolean };
    if (m.__wrapped) return m;
    const loss = model.loss.bind(model);
    const predict = model.predict.bind(model);
    Object.defineProperty(m, '__wrapped', { value: true });
    m.loss = (batch: Batch): LossTerms => loss(batch);
    m.predict = async (batch: Batch): Promise<BatchPrediction> => {
      const p = await predict(batch);
      const probabilities = p.probabilities;
      const grades = p.grades ?? Int32Array.from(probabilities, (row) => argmax(row));
      const scores = p.scores ?? Float32Array.from(probabilities, (row) => row.reduce((s, v, g) => s + v * g, 0));
      return { grades, scores, probabilities, modalitiesPresent: p.modalitiesPresent };
    };
    return m;
  }
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

export const dualAlignKit: ModelKit<DualAlignKitConfig> = {
  name: 'dualalign',
  // DualAlign.loss takes L_grade over the labeled samples only (batch.hasGrade): unlabeled ones still feed the alignment terms.
  supportsUnlabeled: true,
  describe(kc) {
    const r = resolveConfig(kc.model);
    const streams = r.streams.map((s) => `${s.name}${s.name === r.anchor ? '*' : ''}`).join('+');
    const side = [r.image ? r.image.name : null, r.text ? r.text.name : null].filter(Boolean).join('+');
    const std = kc.inputStats && Object.keys(kc.inputStats).length ? ', standardised inputs' : '';
    return `DualAlign d1=${r.d1} d2=${r.d2} d3=${r.d3} heads=${r.heads} G=${r.numGrades} stage1 ${streams}${side ? `, stage2 ${side}` : ''} (${r.alignment} alignment, dropout ${r.dropout}, τ ${r.tau}${std})`;
  },
  configFor(dataset: Pick<Dataset, 'modalities'>, action: ActionInfo, trainSamples: readonly Sample[], overrides = {}) {
    const modalities = (overrides.modalities as string[] | undefined) ?? dataset.modalities;
    const cfg = applyOverrides(dualAlignConfigForData(modalities, trainSamples, action.numGrades), overrides);
    // Graph streams that standardise with dataset statistics get them from the training split.
    cfg.streams = cfg.streams?.map((st) =>
      st.kind === 'graph' && (st.inputNorm === 'center-standardize' || st.inputNorm === 'standardize') && !st.inputStats ? { ...st, inputStats: graphInputStats(trainSamples, st) } : st,
    );
    resolveConfig(cfg); // fail early with the model's own message
    const kc: DualAlignKitConfig = { model: cfg };
    if (overrides.standardize !== false) kc.inputStats = fitInputStats(trainSamples, standardizedModalities(cfg));
    return kc;
  },
  create(config) {
    return KitModel.wrap(new DualAlign(config.model));
  },
  collate(samples, config) {
    return collate(standardize(samples, config), config.model);
  },
  disposeBatch(batch) {
    disposeBatch(batch as Batch);
  },
  async save(path, model, config, extra) {
    await saveCheckpoint(path, model as unknown as DualAlign, { kit: 'dualalign', config, extra } satisfies Stored);
  },
  async load(path): Promise<LoadedCheckpoint<DualAlignKitConfig>> {
    const loaded = await loadCheckpoint(path);
    const stored = (loaded.extra ?? {}) as Partial<Stored>;
    const model = KitModel.wrap(loaded.model as DualAlign);
    // A checkpoint written by saveCheckpoint directly (no kit data): the model's own config, raw inputs.
    const config = stored.kit === 'dualalign' && stored.config?.model ? stored.config : { model: (loaded.model as DualAlign).userConfig };
    return { model, config, extra: stored.extra ?? {} };
  },
};
