/**
 * DualAlign as a ModelKit: builds the per-action DualAlign config from the data's modalities
 * and feature shapes (the paper's layout for MM-JDM-style data, skeletonOnlyConfig for joint
 * positions + angles + text such as UI-PRMD, a generic mapping otherwise), collates with
 * src/models/batch.ts and checkpoints with src/models/checkpoint.node.ts.
 *
 * Overrides (CLI flags / demo): d1, d2, d3, heads, dropout, tau, lambda1, lambda2, clips,
 * gcnChannels (every graph stream), alignment, fusionMode, order, removeModalities,
 * modalityDropout, stage1Arrangement, enhanceKeys, labelSmoothing, logitScale, seed.
 */
import type { ActionInfo, Dataset, FeatureArray, Sample } from '../data/types.js';
import type { JointLayoutSpec } from '../nn/graph.js';
import { collate, disposeBatch, type Batch } from '../models/batch.js';
import { PAPER_FUSION, resolveConfig, skeletonOnlyConfig, type DualAlignConfig, type StreamSpec } from '../models/config.js';
import { DualAlign } from '../models/dualalign.js';
import { loadCheckpoint, saveCheckpoint } from '../models/checkpoint.node.js';
import type { AQAModel, BatchPrediction, LoadedCheckpoint, LossTerms, ModelKit } from './types.js';

const LAYOUT_BY_JOINTS: Record<number, JointLayoutSpec> = { 17: 'coco17', 22: 'uiprmd22', 25: 'kinect25', 26: 'halpe26' };

const PASSTHROUGH = [
  'd1', 'd2', 'd3', 'heads', 'dropout', 'attnDropout', 'tau', 'lambda1', 'lambda2', 'clips', 'alignment', 'fusionMode', 'order',
  'removeModalities', 'modalityDropout', 'stage1Arrangement', 'enhanceKeys', 'labelSmoothing', 'logitScale', 'seed',
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

interface Stored {
  kit: 'dualalign';
  config: DualAlignConfig;
  extra: Record<string, unknown>;
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

export const dualAlignKit: ModelKit<DualAlignConfig> = {
  name: 'dualalign',
  supportsUnlabeled: false,
  describe(c) {
    const r = resolveConfig(c);
    const streams = r.streams.map((s) => `${s.name}${s.name === r.anchor ? '*' : ''}`).join('+');
    const side = [r.image ? r.image.name : null, r.text ? r.text.name : null].filter(Boolean).join('+');
    return `DualAlign d1=${r.d1} d2=${r.d2} d3=${r.d3} heads=${r.heads} G=${r.numGrades} stage1 ${streams}${side ? `, stage2 ${side}` : ''} (${r.alignment} alignment, dropout ${r.dropout}, τ ${r.tau})`;
  },
  configFor(dataset: Pick<Dataset, 'modalities'>, action: ActionInfo, trainSamples: readonly Sample[], overrides = {}) {
    const modalities = (overrides.modalities as string[] | undefined) ?? dataset.modalities;
    const cfg = applyOverrides(dualAlignConfigForData(modalities, trainSamples, action.numGrades), overrides);
    resolveConfig(cfg); // fail early with the model's own message
    return cfg;
  },
  create(config) {
    return KitModel.wrap(new DualAlign(config));
  },
  collate(samples, config) {
    return collate([...samples], config);
  },
  disposeBatch(batch) {
    disposeBatch(batch as Batch);
  },
  async save(path, model, config, extra) {
    await saveCheckpoint(path, model as unknown as DualAlign, { kit: 'dualalign', config, extra } satisfies Stored);
  },
  async load(path): Promise<LoadedCheckpoint<DualAlignConfig>> {
    const loaded = await loadCheckpoint(path);
    const stored = (loaded.extra ?? {}) as Partial<Stored>;
    const model = KitModel.wrap(loaded.model as DualAlign);
    return { model, config: stored.config ?? (loaded.model as DualAlign).userConfig, extra: stored.extra ?? {} };
  },
};
