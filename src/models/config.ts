/**
 * DualAlign configuration: every option has the paper's value as its default (§5.1), and the
 * modalities, their encoders, the anchor and the fusion order are data, so other setups (a
 * skeleton-only one, a modality removed, the ablations of Table 6 / Fig. 9) are configurations.
 *
 * Stage-1 ("visual") streams produce D1 clip tokens:
 *   kind 'linear': per-token features [L, inputDim] (VST video clips 768-d, I3D flow 1024-d,
 *                  or any per-frame feature such as joint angles flattened to [T, C]) -> Linear to
 *                  D1 -> GELU -> dropout; L is pooled to the clip count when it differs.
 *   kind 'graph':  joints [T, J, channels] -> graph convolutions over the layout's normalized
 *                  adjacency -> mean over joints -> mean over the frames of each clip -> Linear to D1.
 * The anchor is one stage-1 stream (video in the paper). The others are fused into it in
 * `fusion` order (paper: SpatialEn with skeleton, then TemporalEn with flow).
 *
 * Stage-2 inputs: `image` (CLIP image tokens [Timg, 512] -> Linear to D2 -> TemporalModulate)
 * and `text` (CLIP text [512] -> Linear to D2). Either may be null.
 */
import type { JointLayoutSpec } from '../nn/graph.js';
import { DEFAULT_TAU } from '../alignment/ops.js';
import type { Sample } from '../data/types.js';
import { graphInputStats } from './blocks.js';

export type EncoderKind = 'linear' | 'graph';

export type GraphInputNorm = 'center' | 'scale' | 'none' | 'center-standardize' | 'standardize';

export interface StreamSpec {
  /** The batch modality key (Sample.modalities[name]). */
  name: string;
  kind: EncoderKind;
  /** linear: features per token; graph: channels per joint (extra input channels are dropped, missing ones zero). */
  inputDim: number;
  /** graph: the joint layout (name or { joints, edges }). */
  layout?: JointLayoutSpec;
  /** graph: widths of the graph-convolution layers (default [64, 64, 128]: the paper does not give them; three layers as ST-GCN's first stages, kept narrow because they run on every frame, T = clips × 16). */
  gcnChannels?: number[];
  /**
   * graph: input normalization per sample: 'center' subtracts each frame's mean over joints and
   * divides by the sample's RMS (pixel or world coordinates); 'scale' only divides by the RMS
   * (angles); 'none'. Default 'center'. Dividing by a sample's own RMS discards its amplitude
   * (how far the joints move), which can carry the grade; 'center-standardize' (centered as
   * 'center', then each joint and channel standardised with the training set's statistics,
   * `inputStats`) and 'standardize' (the same without centering) keep it.
   */
  inputNorm?: GraphInputNorm;
  /**
   * graph, inputNorm 'center-standardize' / 'standardize': per (joint, channel) mean and standard
   * deviation of the training samples (after centering), [J·C] each, row-major over (joint, channel).
   * Fitted by graphInputStats (blocks.ts); the DualAlign kit fills them in from the training split.
   */
  inputStats?: { mean: number[]; std: number[] };
  /**
   * graph: how a frame's joints become one vector: 'mean' averages the joints' channels (the joint
   * identity is lost); 'concat' keeps every joint's channels side by side (J·C features) so the
   * projection to D sees which joint moved. Default 'mean'.
   */
  jointPool?: 'mean' | 'concat';
  /** May this stream be absent for a sample (placeholder + mask)? Default true except for the anchor. */
  optional?: boolean;
}

export interface Stage2Spec {
  name: string;
  inputDim: number;
}

export interface ImageSpec extends Stage2Spec {
  /** Temporal convolution width of TemporalModulate (odd, default 3). */
  kernelSize?: number;
}

export interface FusionStep {
  /** The stream fused into the running anchor tokens. */
  with: string;
  /** Module name (paper: 'spatialEn' for skeleton, 'temporalEn' for flow). */
  name?: string;
}

export type AlignmentMode = 'two-stage' | 'none' | 'cosine' | 'one-stage-gram' | 'vfs-only' | 'vit-only';
export type FusionMode = 'two-stage' | 'concat' | 'add' | 'cross-attention';

export interface DualAlignConfig {
  /** Number of grades G (task 'grade'). */
  numGrades?: number;
  /** 'grade' (ETF over G grades) or 'score' (coarse-to-fine ETF over a score range). */
  task?: 'grade' | 'score';
  /** task 'score': [min, max] of the scores (default [0, 100]). */
  scoreRange?: [number, number];
  /** task 'score': coarse intervals (default 10) and fine intervals within each (default 10). */
  coarseBins?: number;
  fineBins?: number;

  /** D1 (stage-1 tokens, default 1024), D2 (stage-2, default 512), D3 (final h, default 512). */
  d1?: number;
  d2?: number;
  d3?: number;
  /** Attention heads in every cross-attention (default 8). */
  heads?: number;
  /** Dropout on the embeddings and before the head (default 0.5). */
  dropout?: number;
  /** Dropout on the attention probabilities (default 0). */
  attnDropout?: number;
  /** GRAM temperature τ (default 0.1). */
  tau?: number;
  /** λ1 (L_vfs) and λ2 (L_vit), default 1 and 1. */
  lambda1?: number;
  lambda2?: number;
  /** Scale of the ETF logits g·h (unit vectors; default 1 as in Eq. 2). */
  logitScale?: number;
  /** Label smoothing of L_grade (default 0). */
  labelSmoothing?: number;
  /** Ordinal neighbour smoothing of L_grade: width σ in grades of the Gaussian target (default 0: one-hot). */
  ordinalSigma?: number;
  /**
   * How predict() turns the grade probabilities into a grade (default 'argmax': the nearest
   * prototype, Eq. 1). 'expected' rounds the expected grade Σ_g p_g·g: on ordered grades a
   * distribution split between two neighbours then predicts the grade between them instead of
   * whichever side is a hair more probable (the way a regression's output is rounded).
   */
  gradeDecision?: 'argmax' | 'expected';
  /**
   * Time information in the stage-1 clip tokens (default 'none', as in the paper): 'sinusoidal'
   * adds fixed sin/cos features of each clip's normalised time to every stream's tokens before
   * fusion, so cross-attention can relate the same (or a shifted) moment across modalities.
   * Without it attention matches clips by content only and cross-modal timing is invisible.
   */
  temporalEncoding?: 'none' | 'sinusoidal';
  /**
   * Clip-synchronous fusion (default false, as in the paper): each stage-1 fusion step also adds
   * the fused stream's own clip token at the same index (gated like the block), so every fused clip
   * holds what each modality shows at that moment, whatever the attention learned.
   */
  clipSync?: boolean;
  /**
   * Linear streams see each clip's deviation from the sample's own mean over clips (default false):
   * the per-recording offsets (subject, lighting, viewpoint) that dominate backbone features
   * drop out and what changes within the recording (movement, its timing) is what the encoder
   * sees. Graph streams are centred and scaled by inputNorm instead.
   */
  centerTime?: boolean;
  /**
   * Pooling of the fused clip tokens into h (default 'mean', Eq. 16's mean over clips): 'mean+std'
   * also takes each channel's standard deviation over clips and projects both back to D2, so how
   * much (and how jointly, across the fused modalities) a feature varies within the recording
   * reaches the head directly. h_ste for L_vit stays the mean.
   */
  pooling?: 'mean' | 'mean+std';
  /** Activation after the stage-1 output projection D1 -> D2 (default 'none'): 'gelu' makes the pooled h_ste a nonlinear function of each fused clip token. */
  stage1Activation?: 'none' | 'gelu';

  /** Stage-1 streams (default: video 768 linear, flow 1024 linear, skeleton 26-joint graph). */
  streams?: StreamSpec[];
  /** The anchor stream (default 'video'). */
  anchor?: string;
  /** Stage-1 fusion order (default SpatialEn with skeleton, then TemporalEn with flow). */
  fusion?: FusionStep[];
  /**
   * 'sequential' (default, Eqs. 11–12): queries are the anchor (video) tokens; SpatialEn attends
   * to skeleton tokens, TemporalEn (queries = its output) to flow tokens.
   * 'authors': the released code's arrangement: queries from the first fused stream (skeleton),
   * keys/values the concatenated anchor and other streams (video ‖ flow), then that result
   * attends to the anchor and to each other stream separately and the results are averaged.
   */
  stage1Arrangement?: 'sequential' | 'authors';
  /** Clip tokens when the anchor is a graph stream (default 10). */
  clips?: number;
  /** CLIP image tokens (default { name: 'image', inputDim: 512, kernelSize: 3 }); null: none. */
  image?: ImageSpec | null;
  /** CLIP text (default { name: 'text', inputDim: 512 }); null: none. */
  text?: Stage2Spec | null;
  /** Keys of Enhance (Eq. 16): 'text' = h_imt only, 'text+frames' = h_imt and the modulated frame tokens (default). */
  enhanceKeys?: 'text' | 'text+frames';

  /** Ablations (Table 6, Fig. 9). */
  alignment?: AlignmentMode;
  fusionMode?: FusionMode;
  /** 'visual-first' (DualAlign) or 'text-first' (Fig. 9 "RV": text fused into video before stage 1). */
  order?: 'visual-first' | 'text-first';
  /** Drop these modalities from the configuration (train and test; Table 6 "w/o X"). */
  removeModalities?: string[];
  /** Training-time modality dropout: per-sample probability that a modality is dropped (never the anchor). */
  modalityDropout?: Record<string, number>;
  /** Seed of the ETF frames and of modality dropout (default 0). */
  seed?: number;
}

export interface ResolvedConfig {
  numGrades: number;
  task: 'grade' | 'score';
  scoreRange: [number, number];
  coarseBins: number;
  fineBins: number;
  d1: number;
  d2: number;
  d3: number;
  heads: number;
  dropout: number;
  attnDropout: number;
  tau: number;
  lambda1: number;
  lambda2: number;
  logitScale: number;
  labelSmoothing: number;
  ordinalSigma: number;
  gradeDecision: 'argmax' | 'expected';
  temporalEncoding: 'none' | 'sinusoidal';
  stage1Activation: 'none' | 'gelu';
  clipSync: boolean;
  centerTime: boolean;
  pooling: 'mean' | 'mean+std';
  streams: Required<Pick<StreamSpec, 'name' | 'kind' | 'inputDim'>>[] & StreamSpec[];
  anchor: string;
  fusion: Required<FusionStep>[];
  stage1Arrangement: 'sequential' | 'authors';
  clips: number;
  image: Required<ImageSpec> | null;
  text: Stage2Spec | null;
  enhanceKeys: 'text' | 'text+frames';
  alignment: AlignmentMode;
  fusionMode: FusionMode;
  order: 'visual-first' | 'text-first';
  removeModalities: string[];
  modalityDropout: Record<string, number>;
  seed: number;
}

export const PAPER_STREAMS: StreamSpec[] = [
  { name: 'video', kind: 'linear', inputDim: 768 },
  { name: 'flow', kind: 'linear', inputDim: 1024 },
  { name: 'skeleton', kind: 'graph', inputDim: 3, layout: 'halpe26', gcnChannels: [64, 64, 128], inputNorm: 'center' },
];

export const PAPER_FUSION: FusionStep[] = [
  { with: 'skeleton', name: 'spatialEn' },
  { with: 'flow', name: 'temporalEn' },
];

/** Fills in the paper's defaults, applies removeModalities and checks consistency. */
export function resolveConfig(cfg: DualAlignConfig | ResolvedConfig): ResolvedConfig {
  const task = cfg.task ?? 'grade';
  const numGrades = cfg.numGrades ?? 0;
  if (task === 'grade' && !(Number.isInteger(numGrades) && numGrades >= 2)) {
    throw new Error(`DualAlign: numGrades must be an integer ≥ 2 for task 'grade', got ${cfg.numGrades}`);
  }
  const remove = new Set(cfg.removeModalities ?? []);
  const streamsIn = (cfg.streams ?? PAPER_STREAMS).map((s) => ({ ...s }));
  const names = new Set<string>();
  for (const s of streamsIn) {
    if (names.has(s.name)) throw new Error(`DualAlign: stream '${s.name}' given twice`);
    names.add(s.name);
    if (s.kind !== 'linear' && s.kind !== 'graph') throw new Error(`DualAlign: stream '${s.name}' has unknown kind '${s.kind}' (linear, graph)`);
    if (!(s.inputDim > 0)) throw new Error(`DualAlign: stream '${s.name}' needs inputDim > 0`);
    if (s.kind === 'graph' && !s.layout) throw new Error(`DualAlign: graph stream '${s.name}' needs a joint layout`);
  }
  const streams = streamsIn.filter((s) => !remove.has(s.name));
  if (streams.length === 0) throw new Error('DualAlign: no stage-1 stream left (removeModalities removed them all)');
  let anchor = cfg.anchor ?? (names.has('video') ? 'video' : streamsIn[0].name);
  if (!names.has(anchor)) throw new Error(`DualAlign: anchor '${anchor}' is not a stream (${[...names].join(', ')})`);
  if (remove.has(anchor)) anchor = streams[0].name;
  let fusion: FusionStep[] = (cfg.fusion ?? (cfg.streams ? streams.filter((s) => s.name !== anchor).map((s): FusionStep => ({ with: s.name })) : PAPER_FUSION)).map((f) => ({ ...f }));
  for (const f of fusion) if (!names.has(f.with)) throw new Error(`DualAlign: fusion step with '${f.with}', which is not a stream`);
  fusion = fusion.filter((f) => !remove.has(f.with) && f.with !== anchor);
  // Streams not listed in fusion are still fused (after the listed ones), so every stream counts.
  for (const s of streams) if (s.name !== anchor && !fusion.some((f) => f.with === s.name)) fusion.push({ with: s.name });
  const fusionResolved = fusion.map((f, i) => ({ with: f.with, name: f.name ?? `fuse_${f.with}_${i}` }));
  const usedNames = new Set<string>();
  for (const f of fusionResolved) {
    if (usedNames.has(f.name)) throw new Error(`DualAlign: fusion module name '${f.name}' used twice`);
    usedNames.add(f.name);
  }
  const image = cfg.image === null || remove.has(cfg.image?.name ?? 'image') ? null : { name: 'image', inputDim: 512, kernelSize: 3, ...(cfg.image ?? {}) };
  const text = cfg.text === null || remove.has(cfg.text?.name ?? 'text') ? null : { name: 'text', inputDim: 512, ...(cfg.text ?? {}) };
  if (image && !(image.kernelSize >= 1 && image.kernelSize % 2 === 1)) throw new Error(`DualAlign: image.kernelSize must be odd, got ${image.kernelSize}`);
  const d1 = cfg.d1 ?? 1024;
  const d2 = cfg.d2 ?? 512;
  const d3 = cfg.d3 ?? 512;
  const heads = cfg.heads ?? 8;
  for (const [n, d] of [['d1', d1], ['d2', d2]] as const) {
    if (d % heads !== 0) throw new Error(`DualAlign: ${n} = ${d} is not divisible by heads = ${heads}`);
  }
  const coarseBins = cfg.coarseBins ?? 10;
  const fineBins = cfg.fineBins ?? 10;
  const gMax = task === 'grade' ? numGrades : Math.max(coarseBins, fineBins);
  if (d3 < gMax) throw new Error(`DualAlign: d3 = ${d3} is smaller than the ${gMax} ETF prototypes it must hold`);
  if (task === 'score' && !(coarseBins >= 2 && fineBins >= 2)) throw new Error('DualAlign: coarseBins and fineBins must be ≥ 2');
  const scoreRange = cfg.scoreRange ?? [0, 100];
  if (!(scoreRange[1] > scoreRange[0])) throw new Error(`DualAlign: scoreRange [${scoreRange}] is empty`);
  const fusionMode = cfg.fusionMode ?? 'two-stage';
  const alignment = cfg.alignment ?? (fusionMode === 'two-stage' ? 'two-stage' : 'none');
  if (fusionMode !== 'two-stage' && !['none', 'one-stage-gram', 'cosine', 'vfs-only'].includes(alignment)) {
    throw new Error(`DualAlign: alignment '${alignment}' needs the two-stage fusion (fusionMode '${fusionMode}' has no h_ste); use 'none', 'one-stage-gram', 'vfs-only' or 'cosine'`);
  }
  const order = cfg.order ?? 'visual-first';
  if (order === 'text-first' && fusionMode !== 'two-stage') throw new Error("DualAlign: order 'text-first' applies to the two-stage fusion only");
  if (order === 'text-first' && !text && !image) throw new Error("DualAlign: order 'text-first' needs text or image");
  if (cfg.temporalEncoding !== undefined && cfg.temporalEncoding !== 'none' && cfg.temporalEncoding !== 'sinusoidal') throw new Error(`DualAlign: temporalEncoding must be 'none' or 'sinusoidal', got '${cfg.temporalEncoding}'`);
  if (cfg.stage1Activation !== undefined && cfg.stage1Activation !== 'none' && cfg.stage1Activation !== 'gelu') throw new Error(`DualAlign: stage1Activation must be 'none' or 'gelu', got '${cfg.stage1Activation}'`);
  if (cfg.pooling !== undefined && cfg.pooling !== 'mean' && cfg.pooling !== 'mean+std') throw new Error(`DualAlign: pooling must be 'mean' or 'mean+std', got '${cfg.pooling}'`);
  if (cfg.gradeDecision !== undefined && cfg.gradeDecision !== 'argmax' && cfg.gradeDecision !== 'expected') throw new Error(`DualAlign: gradeDecision must be 'argmax' or 'expected', got '${cfg.gradeDecision}'`);
  if (cfg.ordinalSigma !== undefined && !(cfg.ordinalSigma >= 0)) throw new Error(`DualAlign: ordinalSigma must be ≥ 0, got ${cfg.ordinalSigma}`);
  const dropout = cfg.dropout ?? 0.5;
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`DualAlign: dropout must be in [0, 1), got ${dropout}`);
  const modalityDropout = { ...(cfg.modalityDropout ?? {}) };
  if (modalityDropout[anchor]) throw new Error(`DualAlign: the anchor '${anchor}' cannot be dropped`);
  const known = new Set([...names, cfg.image?.name ?? 'image', cfg.text?.name ?? 'text']);
  for (const [name, rate] of Object.entries(modalityDropout)) {
    if (!known.has(name)) throw new Error(`DualAlign: modalityDropout names '${name}', which is not a modality (${[...known].join(', ')})`);
    if (!(rate >= 0 && rate <= 1)) throw new Error(`DualAlign: modalityDropout['${name}'] = ${rate} is not a rate in [0, 1]`);
  }
  return {
    numGrades: task === 'grade' ? numGrades : coarseBins * fineBins,
    task,
    scoreRange: [scoreRange[0], scoreRange[1]],
    coarseBins,
    fineBins,
    d1,
    d2,
    d3,
    heads,
    dropout,
    attnDropout: cfg.attnDropout ?? 0,
    tau: cfg.tau ?? DEFAULT_TAU,
    lambda1: cfg.lambda1 ?? 1,
    lambda2: cfg.lambda2 ?? 1,
    logitScale: cfg.logitScale ?? 1,
    labelSmoothing: cfg.labelSmoothing ?? 0,
    ordinalSigma: cfg.ordinalSigma ?? 0,
    gradeDecision: cfg.gradeDecision ?? 'argmax',
    temporalEncoding: cfg.temporalEncoding ?? 'none',
    stage1Activation: cfg.stage1Activation ?? 'none',
    clipSync: cfg.clipSync ?? false,
    centerTime: cfg.centerTime ?? false,
    pooling: cfg.pooling ?? 'mean',
    streams: streams as ResolvedConfig['streams'],
    anchor,
    fusion: fusionResolved,
    stage1Arrangement: cfg.stage1Arrangement ?? 'sequential',
    clips: cfg.clips ?? 10,
    image: image as Required<ImageSpec> | null,
    text,
    enhanceKeys: cfg.enhanceKeys ?? 'text+frames',
    alignment,
    fusionMode,
    order,
    removeModalities: [...remove],
    modalityDropout,
    seed: cfg.seed ?? 0,
  };
}

/** Every modality key the model reads (stage-1 streams, image, text). */
export function modalityNames(c: ResolvedConfig): string[] {
  return [...c.streams.map((s) => s.name), ...(c.image ? [c.image.name] : []), ...(c.text ? [c.text.name] : [])];
}

/**
 * A skeleton-only setup (e.g. UI-PRMD): joint positions as the anchor (graph), joint angles as
 * a second graph stream, text; no video, flow or CLIP image. Both graph streams concatenate the
 * joints per frame and, given `trainSamples`, standardise each joint and channel with their
 * statistics (positions first centered on each frame's mean joint); the DualAlign kit passes them.
 */
export function skeletonOnlyConfig(opts: {
  numGrades?: number;
  task?: 'grade' | 'score';
  scoreRange?: [number, number];
  layout?: JointLayoutSpec;
  positions?: string;
  angles?: string | null;
  channels?: number;
  text?: boolean;
  clips?: number;
  gcnChannels?: number[];
  /** The training samples: with them, both streams standardise with their statistics; without, each sample is scaled by its own RMS. */
  trainSamples?: readonly Sample[];
} & Omit<Partial<DualAlignConfig>, 'text' | 'streams' | 'anchor' | 'fusion' | 'image'>): DualAlignConfig {
  const { layout = 'uiprmd22', positions = 'positions', angles = 'angles', channels = 3, text = true, gcnChannels, trainSamples, ...rest } = opts;
  // Dataset standardisation (not each sample's own RMS) keeps how far the joints move, and
  // concatenated joints keep which joint moved: both carry the grade (UI-PRMD: examples/README.md).
  const standardize = trainSamples !== undefined;
  const streams: StreamSpec[] = [{ name: positions, kind: 'graph', inputDim: channels, layout, inputNorm: standardize ? 'center-standardize' : 'center', jointPool: 'concat', gcnChannels }];
  if (angles) streams.push({ name: angles, kind: 'graph', inputDim: 3, layout, inputNorm: standardize ? 'standardize' : 'scale', jointPool: 'concat', gcnChannels });
  if (trainSamples) for (const st of streams) st.inputStats = graphInputStats(trainSamples, st);
  return {
    ...rest,
    streams,
    anchor: positions,
    fusion: angles ? [{ with: angles, name: 'angleEn' }] : [],
    image: null,
    text: text ? { name: 'text', inputDim: 512 } : null,
  };
}
