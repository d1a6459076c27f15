/**
 * DualAlign (§3, Fig. 2): two-stage alignment and fusion for multi-modal action quality
 * assessment, on pre-extracted features (the frozen VST / I3D / CLIP backbones are not part of
 * the model; their features are its inputs).
 *
 * Data flow (defaults; B samples, N clips):
 *   video [B,N,768], flow [B,N,1024] --Linear+GELU--> tokens [B,N,D1]
 *   skeleton [B,T,J,3] --GCN, pool joints, pool each clip's frames--> tokens [B,N,D1]
 *   pooled h_vis, h_flo, h_skl = mean over clips                     -> L_vfs = GRAM(h_vis; h_flo, h_skl)   (Eq. 10)
 *   h_spa = SpatialEn(video tokens, skeleton tokens)                                                        (Eq. 11)
 *   h_ste tokens = Linear_{D1→D2}(TemporalEn(h_spa, flow tokens)); h_ste = mean over clips                (Eq. 12)
 *   image [B,Timg,512] --TemporalModulate--> frames F [B,Timg,D2], h_img [B,D2]                             (Eq. 13)
 *   text [B,512] --Linear+GELU--> h_txt [B,D2] (placeholder where absent)
 *   h_imt = EnhanceText(q = h_txt; kv = [h_img; F])                                                         (Eq. 14)
 *   L_vit = GRAM(h_ste; h_imt)                                                                              (Eq. 15)
 *   h = Linear_{D2→D3}(mean over clips of Enhance(q = h_ste tokens; kv = [h_imt; F]))                       (Eq. 16)
 *   logits = s·ETFᵀ ĥ, L_grade = CE                                                                         (Eqs. 1–2)
 *   L = L_grade + λ1 L_vfs + λ2 L_vit                                                                       (Eq. 3)
 *
 * Queries and keys of the fusion blocks (config.stage1Arrangement):
 *   'sequential' (default, the equations): SpatialEn's queries are the video clip tokens and its
 *     keys/values the skeleton clip tokens; TemporalEn's queries are SpatialEn's output and its
 *     keys/values the flow tokens. Each block is pre-norm cross-attention with a gated residual,
 *     so a sample missing the keys' modality passes through unchanged.
 *   'authors' (the released code): queries from the skeleton tokens, keys/values the
 *     concatenation video ‖ flow (2N tokens, per-token mask); that result then attends to the
 *     video tokens and, separately, to the flow tokens; the two outputs are averaged.
 * EnhanceText's query is the text token, its keys h_img and the modulated frames; Enhance's
 * queries are the stage-1 clip tokens, its keys h_imt (and the frames with enhanceKeys
 * 'text+frames'): with a single key, attention would reduce to a fixed linear map.
 *
 * Missing modalities (§5.4): a sample without a non-anchor modality has mask 0: its keys are
 * masked / its block gated off, a missing text uses a learned placeholder token, and the
 * alignment losses use only the samples that have all the modalities they align.
 * config.modalityDropout drops modalities per sample while training.
 */
import type { Tensor } from '../autograd/tensor.js';
import { noGrad, tidy, keep } from '../autograd/engine.js';
import { tensor } from '../autograd/ops/creation.js';
import * as E from '../autograd/ops/elementwise.js';
import { mean } from '../autograd/ops/reduce.js';
import { softmax } from '../autograd/ops/nn.js';
import { concat, fill, indexSelect, reshape, squeeze, stack, unsqueeze } from '../autograd/ops/shape.js';
import { mulberry32, type Rng } from '../data/prng.js';
import { Module, ModuleDict } from '../nn/module.js';
import { Dropout, Identity, Linear } from '../nn/layers.js';
import { normal } from '../nn/init.js';
import { modalityNames, resolveConfig, type DualAlignConfig, type ResolvedConfig } from './config.js';
import type { Batch } from './batch.js';
import { AttentionPool, CrossAttentionBlock, TemporalModulate, keyMaskFrom, makeStreamEncoder, type FlopContext, type StreamEncoder } from './blocks.js';
import { CoarseToFineHead, EtfHead } from './heads.js';
import { cosineLoss, gramLoss } from './losses.js';
import { buildSummary, type ModelSummary, type SummaryOptions } from './summary.js';

export interface ForwardOutput {
  /** Pooled embeddings: each stage-1 stream [B, D1]; 'image' h_img, 'text' h_txt, 'imt', 'ste' [B, D2]; 'h' [B, D3]. */
  embeddings: Record<string, Tensor>;
  /** Final representation h [B, D3]. */
  h: Tensor;
  /** Grade task: [B, G]. Score task: the coarse logits [B, Kc]. */
  logits: Tensor;
  /** Score task: the fine logits [B, Kf]. */
  fineLogits?: Tensor;
  /** Grade task: softmax over grades [B, G]. Score task: joint coarse × fine [B, Kc·Kf]. */
  probabilities: Tensor;
}

export interface LossOutput {
  total: Tensor;
  grade: Tensor;
  vfs: Tensor;
  vit: Tensor;
  /** One-stage GRAM term (alignment 'one-stage-gram'; 0 otherwise). */
  oneStage: Tensor;
  logits: Tensor;
  /** Samples that entered L_grade (the labeled ones; unlabeled samples only feed the alignment terms). */
  labeled: number;
}

export interface Prediction {
  /** Grade task: the nearest prototype (Eq. 1) = argmax of the probabilities, or (gradeDecision 'expected') the rounded expected grade. Score task: null. */
  grades: Int32Array | null;
  /**
   * Grade task: the expected grade Σ_g p_g·g (grade indices; a continuous score for ranking).
   * Score task: the coarse-to-fine score (nearest coarse interval, then nearest fine one).
   */
  scores: Float32Array;
  /** Per sample, per grade (score task: per coarse × fine interval). */
  probabilities: Float32Array[];
  modalitiesPresent: Record<string, boolean>[];
}

const peCache = new WeakMap<object, Map<string, Tensor>>();

/**
 * Fixed time features [N, D] of N clips: channel pair k holds sin and cos of π·f_k·τ_n at the
 * clip's normalised time τ_n = (n + ½)/N, f_k = 1 + (k mod 8): the same for every stream and any
 * clip count, amplitude ½ (about the size of the encoders' GELU outputs).
 */
export function temporalEncodingValues(N: number, D: number): Float32Array {
  const out = new Float32Array(N * D);
  for (let n = 0; n < N; n++) {
    const tau = (n + 0.5) / N;
    for (let c = 0; c < D; c++) {
      const f = 1 + (Math.floor(c / 2) % 8);
      out[n * D + c] = 0.5 * (c % 2 === 0 ? Math.sin(Math.PI * f * tau) : Math.cos(Math.PI * f * tau));
    }
  }
  return out;
}

function temporalEncoding(N: number, D: number, backend: Tensor['backend'], dtype: Tensor['dtype']): Tensor {
  let cache = peCache.get(backend);
  if (!cache) {
    cache = new Map();
    peCache.set(backend, cache);
  }
  const key = `${N}:${D}:${dtype}`;
  let pe = cache.get(key);
  if (!pe || pe.isDisposed) {
    const v = temporalEncodingValues(N, D);
    pe = tensor(dtype === 'float64' ? Float64Array.from(v) : v, [N, D], { backend, dtype }).keep();
    cache.set(key, pe);
  }
  return pe;
}

/** Everything one forward computes (internal; forward() and loss() pick from it). */
interface Pass {
  out: ForwardOutput;
  pooled: Record<string, Tensor>;
  /** pooled anchor before text fusion (order 'text-first'). */
  anchorPre?: Tensor;
  imt?: Tensor;
  ste?: Tensor;
  oneStageVecs?: Record<string, Tensor>;
  present: Record<string, boolean[]>;
  coarseFine?: { coarse: Tensor; fine: Tensor };
}

export class DualAlign extends Module {
  readonly config: ResolvedConfig;
  /** The configuration as given (saved in checkpoints). */
  readonly userConfig: DualAlignConfig;
  readonly encoders: ModuleDict<StreamEncoder>;
  readonly fusionBlocks: ModuleDict<CrossAttentionBlock>;
  readonly stage1Out: Linear | null;
  readonly temporalModulate: TemporalModulate | null;
  readonly textEmbed: Linear | null;
  readonly textDrop: Dropout | null;
  textPlaceholder: Tensor | null = null;
  readonly enhanceText: CrossAttentionBlock | null;
  readonly enhance: CrossAttentionBlock | null;
  readonly reverseBlock: CrossAttentionBlock | null;
  readonly reverseIn: Linear | null;
  readonly alignProj: ModuleDict<Linear> | null;
  readonly oneStage: ModuleDict<Module> | null;
  readonly poolProj: Linear | null;
  readonly outProj: Linear | Identity;
  readonly outDrop: Dropout;
  readonly head: EtfHead | CoarseToFineHead;
  private rng: Rng;

  constructor(config: DualAlignConfig) {
    super();
    this.userConfig = JSON.parse(JSON.stringify(config)) as DualAlignConfig;
    const c = (this.config = resolveConfig(config));
    this.rng = mulberry32((c.seed * 7919 + 17) >>> 0);
    const { d1, d2, d3, heads, dropout, attnDropout } = c;

    this.encoders = this.registerModule('encoders', new ModuleDict<StreamEncoder>());
    for (const s of c.streams) this.encoders.set(s.name, makeStreamEncoder(s, d1, dropout, c.centerTime));

    this.fusionBlocks = this.registerModule('fusion', new ModuleDict<CrossAttentionBlock>());
    const twoStage = c.fusionMode === 'two-stage';
    if (twoStage) {
      if (c.stage1Arrangement === 'authors' && c.fusion.length > 0) {
        this.fusionBlocks.set('joint', new CrossAttentionBlock(d1, heads, attnDropout));
        this.fusionBlocks.set(`to_${c.anchor}`, new CrossAttentionBlock(d1, heads, attnDropout));
        for (const f of c.fusion.slice(1)) this.fusionBlocks.set(f.name, new CrossAttentionBlock(d1, heads, attnDropout));
      } else {
        for (const f of c.fusion) this.fusionBlocks.set(f.name, new CrossAttentionBlock(d1, heads, attnDropout));
      }
    }
    this.stage1Out = twoStage ? this.registerModule('stage1Out', new Linear(d1, d2, c.stage1Activation === 'gelu' ? { activation: 'gelu' } : {})) : null;

    this.temporalModulate = c.image ? this.registerModule('temporalModulate', new TemporalModulate(c.image.inputDim, d2, c.image.kernelSize, dropout)) : null;
    if (c.text) {
      this.textEmbed = this.registerModule('textEmbed', new Linear(c.text.inputDim, d2, { activation: 'gelu' }));
      this.textDrop = this.registerModule('textDrop', new Dropout(dropout));
      this.textPlaceholder = this.registerParameter('textPlaceholder', normal([d2], 0, 0.02));
    } else {
      this.textEmbed = null;
      this.textDrop = null;
    }
    this.enhanceText = c.image && c.text ? this.registerModule('enhanceText', new CrossAttentionBlock(d2, heads, attnDropout)) : null;
    const hasTextSide = !!(c.image || c.text);
    this.enhance = twoStage && c.order === 'visual-first' && hasTextSide ? this.registerModule('enhance', new CrossAttentionBlock(d2, heads, attnDropout)) : null;
    const rv = twoStage && c.order === 'text-first';
    this.reverseIn = rv ? this.registerModule('reverseIn', new Linear(d2, d1)) : null;
    this.reverseBlock = rv ? this.registerModule('reverseFusion', new CrossAttentionBlock(d1, heads, attnDropout)) : null;

    // Projections D1 -> D2 of the pooled stage-1 embeddings where a loss or fusion compares them with D2 vectors.
    const needAlignProj = (twoStage && c.alignment === 'one-stage-gram') || rv;
    if (needAlignProj) {
      this.alignProj = this.registerModule('alignProj', new ModuleDict<Linear>());
      const names = rv && c.alignment !== 'one-stage-gram' ? [c.anchor] : c.streams.map((s) => s.name);
      for (const n of names) this.alignProj.set(n, new Linear(d1, d2));
    } else this.alignProj = null;

    if (!twoStage) {
      this.oneStage = this.registerModule('oneStage', new ModuleDict<Module>());
      for (const s of c.streams) this.oneStage.set(`proj_${s.name}`, new Linear(d1, d2));
      const k = c.streams.length + (c.image ? 1 : 0) + (c.text ? 1 : 0);
      if (c.fusionMode === 'concat') this.oneStage.set('fuse', new Linear(k * d2, d2));
      if (c.fusionMode === 'cross-attention') this.oneStage.set('attend', new CrossAttentionBlock(d2, heads, attnDropout));
      if (c.fusionMode === 'cross-attention') this.oneStage.set('pool', new AttentionPool(d2));
    } else this.oneStage = null;

    this.poolProj = twoStage && c.pooling === 'mean+std' ? this.registerModule('poolProj', new Linear(2 * d2, d2)) : null;
    this.outProj = this.registerModule('outProj', d3 === d2 ? new Identity() : new Linear(d2, d3));
    this.outDrop = this.registerModule('outDrop', new Dropout(dropout));
    this.head =
      c.task === 'grade'
        ? this.registerModule('head', new EtfHead(c.numGrades, d3, c.logitScale, c.seed))
        : this.registerModule('head', new CoarseToFineHead(d3, c.coarseBins, c.fineBins, c.scoreRange, c.logitScale, c.seed));
    this.nameTensors();
  }

  /** The modality keys this model reads. */
  get modalities(): string[] {
    return modalityNames(this.config);
  }

  // ---- presence and gates --------------------------------------------------------------------------

  private hostPresence(batch: Batch, name: string): boolean[] {
    const p = batch.presence?.[name];
    if (p) return p;
    const m = batch.masks[name];
    const host = m ? m.backend.peek(m) : null; // the mask's values where they are on the host (CPU)
    if (host) return Array.from({ length: batch.size }, (_, i) => host[i] !== 0);
    return new Array<boolean>(batch.size).fill(true);
  }

  /** float gates [B] per modality (null = present everywhere and not dropped), and host presence. */
  private gates(batch: Batch, like: Tensor): { gate: Record<string, Tensor | null>; present: Record<string, boolean[]> } {
    const c = this.config;
    const gate: Record<string, Tensor | null> = {};
    const present: Record<string, boolean[]> = {};
    for (const name of this.modalities) {
      if (!batch.modalities[name]) throw new Error(`DualAlign: the batch has no '${name}' tensor (build batches with collate(samples, model.config))`);
      let p = this.hostPresence(batch, name);
      const rate = this.training ? (c.modalityDropout[name] ?? 0) : 0;
      let drop: boolean[] | null = null;
      if (rate > 0) {
        drop = p.map(() => this.rng.next() < rate);
        p = p.map((v, i) => v && !drop![i]);
      }
      present[name] = p;
      if (name === c.anchor) {
        const missing = p.findIndex((v) => !v);
        if (missing >= 0) throw new Error(`DualAlign: the anchor modality '${name}' is missing for sample ${batch.ids?.[missing] ?? missing}; it must always be present`);
        gate[name] = null;
        continue;
      }
      const m = batch.masks[name];
      if (!m && !drop) {
        gate[name] = null;
        continue;
      }
      let g: Tensor = m ? E.cast(m, like.dtype) : fill(like, [batch.size], 1);
      if (drop) g = E.mul(g, tensor(Float32Array.from(drop, (d) => (d ? 0 : 1)), [batch.size], { backend: like.backend, dtype: like.dtype }));
      gate[name] = g;
    }
    return { gate, present };
  }

  // ---- forward ----------------------------------------------------------------------------------

  /** Embeddings, logits and per-grade probabilities. Runs in the current mode (train()/eval()). */
  forward(batch: Batch): ForwardOutput {
    return tidy(() => this.run(batch).out);
  }

  private run(batch: Batch): Pass {
    const c = this.config;
    const B = batch.size;
    const anchorX = batch.modalities[c.anchor];
    if (!anchorX) throw new Error(`DualAlign: the batch has no anchor '${c.anchor}' tensor`);
    if (anchorX.shape[0] !== B) throw new Error(`DualAlign: batch.size ${B} but '${c.anchor}' is ${anchorX.describe()}`);
    const { gate, present } = this.gates(batch, anchorX.dtype === 'int32' ? E.cast(anchorX, 'float32') : anchorX);
    const anchorSpec = c.streams.find((s) => s.name === c.anchor)!;
    const N = anchorSpec.kind === 'linear' ? anchorX.shape[1] : c.clips;

    // Stage-1 encoders: clip tokens [B, N, D1] and pooled embeddings [B, D1].
    const tokens: Record<string, Tensor> = {};
    const pooled: Record<string, Tensor> = {};
    for (const s of c.streams) {
      tokens[s.name] = this.encoders.get(s.name)!.forward(batch.modalities[s.name], N);
      pooled[s.name] = mean(tokens[s.name], 1);
    }
    // Time features go into the tokens the fusion blocks see, not into the pooled (aligned) embeddings.
    if (c.temporalEncoding === 'sinusoidal') {
      const pe = temporalEncoding(N, c.d1, anchorX.backend, pooled[c.anchor].dtype);
      for (const s of c.streams) tokens[s.name] = E.add(tokens[s.name], pe);
    }

    // Text side (stage-2 inputs).
    let frames: Tensor | null = null;
    let hImg: Tensor | null = null;
    let hTxt: Tensor | null = null;
    let hImt: Tensor | null = null;
    if (c.image) {
      const tm = this.temporalModulate!.forward(batch.modalities[c.image.name]);
      frames = tm.frames;
      hImg = tm.pooled;
    }
    if (c.text) {
      const x = batch.modalities[c.text.name];
      if (x.rank !== 2 || x.shape[1] !== c.text.inputDim) throw new Error(`DualAlign: '${c.text.name}' must be [B, ${c.text.inputDim}], got ${x.describe()}`);
      let t = this.textDrop!.forward(this.textEmbed!.forward(x));
      const g = gate[c.text.name];
      if (g) {
        const g2 = reshape(g, [B, 1]);
        t = E.add(E.mul(t, g2), E.mul(unsqueeze(this.textPlaceholder!, 0), E.sub(1, g2)));
      }
      hTxt = t;
    }
    if (hTxt && frames && hImg) {
      const imgGate = c.image ? gate[c.image.name] : null;
      const kv = concat([unsqueeze(hImg, 1), frames], 1);
      const keyMask = keyMaskFrom([imgGate, imgGate], [1, frames.shape[1]], B, hImg);
      hImt = squeeze(this.enhanceText!.forward(unsqueeze(hTxt, 1), kv, { keyMask }), 1);
    } else hImt = hTxt ?? hImg;

    const embeddings: Record<string, Tensor> = { ...pooled };
    if (hImg) embeddings.image = hImg;
    if (hTxt) embeddings.text = hTxt;
    if (hImt) embeddings.imt = hImt;

    const pass: Pass = { out: null as unknown as ForwardOutput, pooled, present };
    let hPool: Tensor;
    if (c.fusionMode === 'two-stage') {
      // Fig. 9 "RV": text side fused into the anchor tokens before stage 1.
      if (c.order === 'text-first') {
        pass.anchorPre = pooled[c.anchor];
        const side = frames && hImt ? concat([unsqueeze(hImt, 1), frames], 1) : unsqueeze(hImt!, 1);
        const imgGate = c.image ? gate[c.image.name] : null;
        const keyMask = frames ? keyMaskFrom([null, imgGate], [1, frames.shape[1]], B, hImt!) : null;
        tokens[c.anchor] = this.reverseBlock!.forward(tokens[c.anchor], this.reverseIn!.forward(side), { keyMask });
      }
      const z = this.stage1(tokens, gate, B);
      const zs = this.stage1Out!.forward(z); // [B, N, D2]
      const hSte = mean(zs, 1);
      pass.ste = hSte;
      embeddings.ste = hSte;
      if (this.enhance && hImt) {
        const useFrames = c.enhanceKeys === 'text+frames' && frames;
        const kv = useFrames ? concat([unsqueeze(hImt, 1), frames!], 1) : unsqueeze(hImt, 1);
        const imgGate = c.image ? gate[c.image.name] : null;
        const keyMask = useFrames ? keyMaskFrom([null, imgGate], [1, frames!.shape[1]], B, hImt) : null;
        hPool = this.clipPool(this.enhance.forward(zs, kv, { keyMask }));
      } else hPool = this.poolProj ? this.clipPool(zs) : hSte;
      pass.imt = hImt ?? undefined;
    } else {
      hPool = this.oneStageFusion(tokens, pooled, gate, frames, hImg, hTxt, B, pass);
    }

    const h = this.outDrop.forward(this.outProj.forward(hPool));
    embeddings.h = h;
    let out: ForwardOutput;
    if (this.head instanceof EtfHead) {
      const logits = this.head.forward(h);
      out = { embeddings, h, logits, probabilities: softmax(logits, -1) };
    } else {
      const cf = this.head.forward(h);
      pass.coarseFine = cf;
      const pc = softmax(cf.coarse, -1);
      const pf = softmax(cf.fine, -1);
      const joint = reshape(E.mul(unsqueeze(pc, 2), unsqueeze(pf, 1)), [B, c.coarseBins * c.fineBins]);
      out = { embeddings, h, logits: cf.coarse, fineLogits: cf.fine, probabilities: joint };
    }
    pass.out = out;
    return pass;
  }

  /** The final pooling over clips [B, N, D2] -> [B, D2]: the mean, or (pooling 'mean+std') poolProj of the mean and the standard deviation. */
  private clipPool(x: Tensor): Tensor {
    const m = mean(x, 1);
    if (!this.poolProj) return m;
    const d = E.sub(x, unsqueeze(m, 1));
    const sd = E.sqrt(E.add(mean(E.mul(d, d), 1), 1e-6));
    return this.poolProj.forward(concat([m, sd], 1));
  }

  /** Stage-1 fusion over clip tokens -> [B, N, D1]. */
  private stage1(tokens: Record<string, Tensor>, gate: Record<string, Tensor | null>, B: number): Tensor {
    const c = this.config;
    if (c.fusion.length === 0) return tokens[c.anchor];
    if (c.stage1Arrangement === 'authors') {
      const first = c.fusion[0].with;
      const rest = c.fusion.slice(1);
      // Queries from the first fused stream (skeleton); where it is missing, from the anchor.
      let q = tokens[first];
      const g0 = gate[first];
      if (g0) {
        const g3 = reshape(g0, [B, 1, 1]);
        q = E.add(E.mul(q, g3), E.mul(tokens[c.anchor], E.sub(1, g3)));
      }
      const kvNames = [c.anchor, ...rest.map((f) => f.with)];
      const kv = concat(kvNames.map((n) => tokens[n]), 1);
      const keyMask = keyMaskFrom(
        kvNames.map((n) => gate[n]),
        kvNames.map((n) => tokens[n].shape[1]),
        B,
        q,
      );
      const joint = this.fusionBlocks.get('joint')!.forward(q, kv, { keyMask });
      const outs = [this.fusionBlocks.get(`to_${c.anchor}`)!.forward(joint, tokens[c.anchor])];
      for (const f of rest) outs.push(this.fusionBlocks.get(f.name)!.forward(joint, tokens[f.with], { gate: gate[f.with] }));
      return outs.length === 1 ? outs[0] : mean(stack(outs, 0), 0);
    }
    let h = tokens[c.anchor];
    for (const f of c.fusion) {
      h = this.fusionBlocks.get(f.name)!.forward(h, tokens[f.with], { gate: gate[f.with] });
      if (c.clipSync) {
        const g = gate[f.with];
        h = E.add(h, g ? E.mul(tokens[f.with], reshape(g, [B, 1, 1])) : tokens[f.with]);
      }
    }
    return h;
  }

  /** Fig. 9 one-stage fusion variants -> pooled [B, D2]. */
  private oneStageFusion(
    tokens: Record<string, Tensor>,
    pooled: Record<string, Tensor>,
    gate: Record<string, Tensor | null>,
    frames: Tensor | null,
    hImg: Tensor | null,
    hTxt: Tensor | null,
    B: number,
    pass: Pass,
  ): Tensor {
    const c = this.config;
    const os = this.oneStage!;
    const vecs: Record<string, Tensor> = {};
    for (const s of c.streams) vecs[s.name] = (os.get(`proj_${s.name}`) as Linear).forward(pooled[s.name]);
    if (c.image && hImg) vecs[c.image.name] = hImg;
    if (c.text && hTxt) vecs[c.text.name] = hTxt;
    pass.oneStageVecs = vecs;
    const gated = (name: string, v: Tensor) => {
      const g = gate[name];
      return g ? E.mul(v, reshape(g, [B, 1])) : v;
    };
    const names = Object.keys(vecs);
    if (c.fusionMode === 'concat') return (os.get('fuse') as Linear).forward(concat(names.map((n) => gated(n, vecs[n])), 1));
    if (c.fusionMode === 'add') {
      let acc = gated(names[0], vecs[names[0]]);
      for (const n of names.slice(1)) acc = E.add(acc, gated(n, vecs[n]));
      return acc;
    }
    // cross-attention: anchor clip tokens (to D2) attend to every other modality's tokens at once.
    const proj = (n: string) => os.get(`proj_${n}`) as Linear;
    const q = proj(c.anchor).forward(tokens[c.anchor]);
    const kvParts: Tensor[] = [];
    const kvGates: (Tensor | null)[] = [];
    for (const s of c.streams) {
      if (s.name === c.anchor) continue;
      kvParts.push(proj(s.name).forward(tokens[s.name]));
      kvGates.push(gate[s.name]);
    }
    if (frames && c.image) {
      kvParts.push(frames);
      kvGates.push(gate[c.image.name]);
    }
    if (hTxt && c.text) {
      kvParts.push(unsqueeze(hTxt, 1));
      kvGates.push(null);
    }
    if (kvParts.length === 0) return mean(q, 1);
    const keyMask = keyMaskFrom(kvGates, kvParts.map((p) => p.shape[1]), B, q);
    const z = (os.get('attend') as CrossAttentionBlock).forward(q, concat(kvParts, 1), { keyMask });
    return (os.get('pool') as AttentionPool).forward(z);
  }

  // ---- losses -----------------------------------------------------------------------------------

  /**
   * Forward + every loss term (Eq. 3): total = L_grade + λ1·L_vfs + λ2·L_vit (+ λ1·L_one-stage).
   * L_grade is the mean over the labeled samples (batch.hasGrade / hasScore; all when absent) and
   * 0 when none is labeled; the alignment terms use every sample (they need no label).
   */
  loss(batch: Batch): LossOutput {
    return tidy(() => {
      const c = this.config;
      const pass = this.run(batch);
      const like = pass.out.h;
      const zero = () => fill(like, [], 0);
      const rows = this.labeledRows(batch);
      const pick = (t: Tensor) => (rows.length === batch.size ? t : indexSelect(t, 0, tensor(Int32Array.from(rows), [rows.length], { backend: t.backend, dtype: 'int32' })));
      let grade: Tensor = zero();
      if (rows.length > 0) {
        if (this.head instanceof EtfHead) grade = this.head.loss(pick(pass.out.logits), pick(batch.grades!), c.labelSmoothing, c.ordinalSigma);
        else grade = this.head.loss({ coarse: pick(pass.coarseFine!.coarse), fine: pick(pass.coarseFine!.fine) }, pick(batch.scores!), c.labelSmoothing);
      }
      let vfs: Tensor = zero();
      let vit: Tensor = zero();
      let one: Tensor = zero();
      const a = c.alignment;
      const useCos = a === 'cosine';
      const align = (anchor: Tensor, others: Tensor[], names: string[]) => this.alignTerm(anchor, others, names, pass.present, useCos);
      const visual = c.streams.map((s) => s.name).filter((n) => n !== c.anchor);
      if (a === 'two-stage' || a === 'vfs-only' || a === 'cosine') {
        if (visual.length > 0) vfs = align(pass.pooled[c.anchor], visual.map((n) => pass.pooled[n]), [c.anchor, ...visual]) ?? vfs;
      }
      if ((a === 'two-stage' || a === 'vit-only' || a === 'cosine') && c.fusionMode === 'two-stage' && pass.imt) {
        const sideNames = [...(c.text ? [c.text.name] : []), ...(c.image ? [c.image.name] : [])];
        if (c.order === 'text-first') {
          const anchor2 = this.alignProj!.get(c.anchor)!.forward(pass.anchorPre!);
          vit = align(anchor2, [pass.imt], [c.anchor, ...sideNames]) ?? vit;
        } else {
          vit = align(pass.ste!, [pass.imt], [c.anchor, ...sideNames]) ?? vit;
        }
      }
      if (a === 'one-stage-gram') {
        let vecs: Record<string, Tensor>;
        if (pass.oneStageVecs) vecs = pass.oneStageVecs;
        else {
          vecs = {};
          for (const s of c.streams) vecs[s.name] = this.alignProj!.get(s.name)!.forward(pass.pooled[s.name]);
          if (c.text && pass.out.embeddings.text) vecs[c.text.name] = pass.out.embeddings.text;
          else if (c.image && pass.out.embeddings.image) vecs[c.image.name] = pass.out.embeddings.image;
        }
        const others = Object.keys(vecs).filter((n) => n !== c.anchor);
        if (others.length > 0) one = align(vecs[c.anchor], others.map((n) => vecs[n]), [c.anchor, ...others]) ?? one;
      }
      const total = E.add(E.add(E.add(grade, E.mul(vfs, c.lambda1)), E.mul(vit, c.lambda2)), E.mul(one, c.lambda1));
      return { total, grade, vfs, vit, oneStage: one, logits: pass.out.logits, labeled: rows.length };
    });
  }

  /** Indices of the samples with the label this task needs (grades or scores). */
  private labeledRows(batch: Batch): number[] {
    const isGrade = this.config.task === 'grade';
    const label = isGrade ? batch.grades : batch.scores;
    const has = isGrade ? batch.hasGrade : batch.hasScore;
    const what = isGrade ? 'grades' : 'scores';
    if (!label && !has) throw new Error(`DualAlign.loss: the batch has no ${what} (collate sets them; for unlabeled samples set batch.${isGrade ? 'hasGrade' : 'hasScore'})`);
    if (has && has.length !== batch.size) throw new Error(`DualAlign.loss: batch.${isGrade ? 'hasGrade' : 'hasScore'} has ${has.length} entries for ${batch.size} samples`);
    const rows: number[] = [];
    for (let i = 0; i < batch.size; i++) if (has ? has[i] : true) rows.push(i);
    if (rows.length > 0 && !label) throw new Error(`DualAlign.loss: batch.${isGrade ? 'hasGrade' : 'hasScore'} marks labeled samples but batch.${what} is missing`);
    return rows;
  }

  /** GRAM (or cosine) alignment of anchor [B, D] with others, over the samples having every modality in `names`. */
  private alignTerm(anchor: Tensor, others: Tensor[], names: string[], present: Record<string, boolean[]>, cosine: boolean): Tensor | null {
    const B = anchor.shape[0];
    const keep: number[] = [];
    for (let i = 0; i < B; i++) if (names.every((n) => present[n]?.[i] ?? true)) keep.push(i);
    if (keep.length === 0) return null;
    let a = anchor;
    let o = stack(others, 1); // [B, K-1, D]
    if (keep.length < B) {
      const idx = tensor(Int32Array.from(keep), [keep.length], { backend: anchor.backend, dtype: 'int32' });
      a = indexSelect(a, 0, idx);
      o = indexSelect(o, 0, idx);
    }
    const opts = { tau: this.config.tau };
    return cosine ? cosineLoss(a, o, opts) : gramLoss(a, o, opts);
  }

  // ---- inference --------------------------------------------------------------------------------

  /** Grades (or scores) with per-grade probabilities, in eval mode without a graph. */
  async predict(batch: Batch): Promise<Prediction> {
    const wasTraining = this.training;
    this.eval();
    let probsT: Tensor | null = null;
    try {
      probsT = noGrad(() => tidy(() => keep(this.forward(batch).probabilities)));
      const probs = await probsT.data();
      const B = batch.size;
      const K = probs.length / B;
      const probabilities = Array.from({ length: B }, (_, i) => Float32Array.from(probs.subarray(i * K, (i + 1) * K)));
      const present: Record<string, boolean[]> = {};
      for (const name of this.modalities) {
        const m = batch.masks[name];
        present[name] = batch.presence?.[name] ?? (m ? Array.from(await m.data(), (v) => v !== 0) : new Array<boolean>(B).fill(true));
      }
      const modalitiesPresent = Array.from({ length: B }, (_, i) => Object.fromEntries(this.modalities.map((n) => [n, present[n][i]])));
      const argmax = (p: Float32Array, from: number, len: number, stride = 1) => {
        let best = 0;
        for (let k = 1; k < len; k++) if (p[from + k * stride] > p[from + best * stride]) best = k;
        return best;
      };
      if (this.head instanceof EtfHead) {
        const expected = (p: Float32Array) => p.reduce((acc, v, g) => acc + v * g, 0);
        const scores = Float32Array.from(probabilities, expected);
        const grades = this.config.gradeDecision === 'expected'
          ? Int32Array.from(scores, (s) => Math.min(K - 1, Math.max(0, Math.round(s))))
          : Int32Array.from(probabilities, (p) => argmax(p, 0, K));
        return { grades, scores, probabilities, modalitiesPresent };
      }
      const head = this.head;
      const Kc = this.config.coarseBins;
      const Kf = this.config.fineBins;
      const scores = Float32Array.from(probabilities, (p) => {
        // nearest coarse prototype = argmax of the coarse marginal; then the fine one
        const marg = new Float32Array(Kc);
        const fmarg = new Float32Array(Kf);
        for (let a = 0; a < Kc; a++) for (let b = 0; b < Kf; b++) {
          marg[a] += p[a * Kf + b];
          fmarg[b] += p[a * Kf + b];
        }
        return head.scoreOf(argmax(marg, 0, Kc), argmax(fmarg, 0, Kf));
      });
      return { grades: null, scores, probabilities, modalitiesPresent };
    } finally {
      probsT?.dispose();
      this.train(wasTraining);
    }
  }

  /** Parameters and FLOPs per sample per module (the paper's sizes by default: 10 clips, 16 frames per clip, 103 CLIP frames). */
  summary(opts: SummaryOptions = {}): ModelSummary {
    return buildSummary(this, opts);
  }

  /** FLOPs per sample of each top-level part (for summary()). */
  flopsByModule(ctx: FlopContext): Record<string, number> {
    const c = this.config;
    const N = ctx.clips;
    const Ti = c.image ? (ctx.lengths[c.image.name] ?? 103) : 0;
    const out: Record<string, number> = {};
    for (const s of c.streams) out[`encoders.${s.name}`] = this.encoders.get(s.name)!.flops(ctx) + 2 * N * c.d1;
    if (c.fusionMode === 'two-stage') {
      if (c.stage1Arrangement === 'authors' && c.fusion.length > 0) {
        const kvTokens = N * c.fusion.length;
        for (const [name, blk] of this.fusionBlocks.items) out[`fusion.${name}`] = name === 'joint' ? blk.flops(N, kvTokens) : blk.flops(N, N);
      } else for (const [name, blk] of this.fusionBlocks.items) out[`fusion.${name}`] = blk.flops(N, N);
      out.stage1Out = this.stage1Out!.flops([N, c.d1]) + 2 * N * c.d2;
    }
    if (this.temporalModulate) out.temporalModulate = this.temporalModulate.flops(Ti);
    if (this.textEmbed) out.textEmbed = this.textEmbed.flops([1, c.text!.inputDim]);
    if (this.enhanceText) out.enhanceText = this.enhanceText.flops(1, 1 + Ti);
    if (this.enhance) out.enhance = this.enhance.flops(N, c.enhanceKeys === 'text+frames' && c.image ? 1 + Ti : 1) + 2 * N * c.d2;
    if (this.reverseBlock) out.reverseFusion = this.reverseBlock.flops(N, 1 + Ti) + this.reverseIn!.flops([1 + Ti, c.d2]);
    if (this.oneStage) {
      let f = 0;
      for (const [n, m] of this.oneStage.items) {
        if (m instanceof Linear) f += n.startsWith('proj_') ? m.flops([n === `proj_${c.anchor}` && c.fusionMode === 'cross-attention' ? N : 1, m.inFeatures]) + (c.fusionMode === 'cross-attention' ? m.flops([N, m.inFeatures]) : 0) : m.flops([1, m.inFeatures]);
        else if (m instanceof CrossAttentionBlock) f += m.flops(N, N * (c.streams.length - 1) + Ti + (c.text ? 1 : 0));
        else if (m instanceof AttentionPool) f += m.flops(N);
      }
      out.oneStage = f;
    }
    if (this.outProj instanceof Linear) out.outProj = this.outProj.flops([1, c.d2]);
    out.head = this.head.flops();
    return out;
  }
}
