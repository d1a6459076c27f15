/**
 * DualAlign's building blocks: stream encoders, the cross-attention fusion block, attention
 * pooling and TemporalModulate. Each reports its FLOPs per sample for summary().
 */
import type { Tensor } from '../autograd/tensor.js';
import { tensor } from '../autograd/ops/creation.js';
import { tidy } from '../autograd/engine.js';
import * as E from '../autograd/ops/elementwise.js';
import { mean, sum } from '../autograd/ops/reduce.js';
import { softmax } from '../autograd/ops/nn.js';
import { matmul } from '../autograd/ops/linalg.js';
import { concat, contiguous, expand, fill, permute, reshape, slice } from '../autograd/ops/shape.js';
import { crossAttention } from '../attention/crossAttention.js';
import { attentionFlops, foldedCrossAttention } from '../attention/folded.js';
import { Module } from '../nn/module.js';
import { Dropout, LayerNorm, Linear, TemporalConv1d } from '../nn/layers.js';
import { GraphConv, resolveLayout, type JointLayout } from '../nn/graph.js';
import type { GraphInputNorm, StreamSpec } from './config.js';
import type { Sample } from '../data/types.js';
import { fromValues } from '../nn/init.js';

/** Token counts of one sample, for FLOP counting. */
export interface FlopContext {
  /** clip tokens N */
  clips: number;
  /** frames per sequence of each stream / image (T), keyed by modality */
  lengths: Record<string, number>;
}

// ---- segment pooling -----------------------------------------------------------------------------

/**
 * P [N, L]: row n averages the inputs of segment n, [⌊nL/N⌋, max(⌊(n+1)L/N⌋, ⌊nL/N⌋+1)).
 * For L = N it is the identity; for L < N it repeats (nearest) inputs.
 */
export function segmentPoolMatrix(N: number, L: number): Float64Array {
  const P = new Float64Array(N * L);
  for (let n = 0; n < N; n++) {
    const s = Math.min(Math.floor((n * L) / N), L - 1);
    const e = Math.max(Math.floor(((n + 1) * L) / N), s + 1);
    for (let l = s; l < e; l++) P[n * L + l] = 1 / (e - s);
  }
  return P;
}

const poolCache = new WeakMap<object, Map<string, Tensor>>();

/** x [B, L, C] -> [B, N, C], averaging consecutive segments (alias of x when L = N). */
export function segmentPool(x: Tensor, N: number): Tensor {
  const L = x.shape[1];
  if (L === N) return x;
  let cache = poolCache.get(x.backend);
  if (!cache) {
    cache = new Map();
    poolCache.set(x.backend, cache);
  }
  const key = `${N}:${L}:${x.dtype}`;
  let P = cache.get(key);
  if (!P || P.isDisposed) {
    const v = segmentPoolMatrix(N, L);
    P = tensor(x.dtype === 'float64' ? v : Float32Array.from(v), [N, L], { backend: x.backend, dtype: x.dtype }).keep();
    cache.set(key, P);
  }
  return matmul(P, x);
}

// ---- stream encoders ---------------------------------------------------------------------------

export abstract class StreamEncoder extends Module {
  constructor(readonly spec: StreamSpec) {
    super();
  }
  /** x: the batch tensor of this modality -> [B, N, D] tokens. */
  abstract override forward(x: Tensor, clips: number): Tensor;
  abstract flops(ctx: FlopContext): number;
  /** Native token count of x (its sequence length). */
  length(x: Tensor): number {
    return x.shape[1];
  }
}

/** Per-token features [B, L, C] -> pooled to N tokens -> Linear(C, D) -> GELU -> dropout. */
export class LinearStreamEncoder extends StreamEncoder {
  readonly proj: Linear;
  readonly drop: Dropout;
  constructor(
    spec: StreamSpec,
    dOut: number,
    dropout: number,
    /** Subtract each sample's mean over its clips per channel before the projection (config.centerTime). */
    readonly centerTime = false,
  ) {
    super(spec);
    this.proj = this.registerModule('proj', new Linear(spec.inputDim, dOut, { activation: 'gelu' }));
    this.drop = this.registerModule('drop', new Dropout(dropout));
  }
  forward(x: Tensor, clips: number): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.spec.inputDim) throw new Error(`stream '${this.spec.name}': expected [B, L, ${this.spec.inputDim}], got ${x.describe()}`);
    return tidy(() => {
      let t = segmentPool(x, clips);
      if (this.centerTime && t.shape[1] > 1) t = E.sub(t, mean(t, 1, true));
      return this.drop.forward(this.proj.forward(t));
    });
  }
  flops(ctx: FlopContext): number {
    const L = ctx.lengths[this.spec.name] ?? ctx.clips;
    return (L !== ctx.clips ? 2 * ctx.clips * L * this.spec.inputDim : 0) + this.proj.flops([ctx.clips, this.spec.inputDim]);
  }
}

/**
 * Joints [B, T, J, C] -> input normalization -> graph convolutions (ReLU) over the normalized
 * adjacency -> per frame, the joints pooled (mean, or concatenated: spec.jointPool) -> mean over
 * the frames of each clip -> Linear to D -> GELU -> dropout: one token per clip.
 */
export class GraphStreamEncoder extends StreamEncoder {
  readonly layout: JointLayout;
  readonly gcn: GraphConv[] = [];
  readonly proj: Linear;
  readonly drop: Dropout;
  readonly inputNorm: GraphInputNorm;
  readonly jointPool: 'mean' | 'concat';
  /** inputNorm '*standardize': the training set's per (joint, channel) mean and 1/std, [J, C]. */
  readonly inputMean: Tensor | null = null;
  readonly inputInvStd: Tensor | null = null;
  /** Largest activation per batch chunk in bytes (default: the adapter's storage binding limit; tests lower it). */
  static chunkBytes: number | null = null;
  constructor(spec: StreamSpec, dOut: number, dropout: number) {
    super(spec);
    this.layout = resolveLayout(spec.layout!);
    this.inputNorm = spec.inputNorm ?? 'center';
    this.jointPool = spec.jointPool ?? 'mean';
    const J = this.layout.joints;
    if (this.inputNorm === 'center-standardize' || this.inputNorm === 'standardize') {
      const st = spec.inputStats;
      const n = J * spec.inputDim;
      if (!st || st.mean.length !== n || st.std.length !== n) {
        throw new Error(`stream '${spec.name}': inputNorm '${this.inputNorm}' needs inputStats with ${n} means and stds (${J} joints x ${spec.inputDim} channels; graphInputStats fits them)`);
      }
      this.inputMean = this.registerBuffer('inputMean', fromValues(st.mean, [J, spec.inputDim]), false);
      this.inputInvStd = this.registerBuffer('inputInvStd', fromValues(st.std.map((v) => 1 / Math.max(v, 1e-6)), [J, spec.inputDim]), false);
    }
    const widths = spec.gcnChannels ?? [64, 64, 128];
    let c = spec.inputDim;
    widths.forEach((w, i) => {
      this.gcn.push(this.registerModule(`gcn${i}`, new GraphConv(c, w, this.layout)));
      c = w;
    });
    this.proj = this.registerModule('proj', new Linear(this.jointPool === 'concat' ? J * c : c, dOut, { activation: 'gelu' }));
    this.drop = this.registerModule('drop', new Dropout(dropout));
  }
  forward(x: Tensor, clips: number): Tensor {
    const J = this.layout.joints;
    if (x.rank !== 4 || x.shape[2] !== J || x.shape[3] !== this.spec.inputDim) {
      throw new Error(`stream '${this.spec.name}': expected [B, T, ${J}, ${this.spec.inputDim}], got ${x.describe()}`);
    }
    const [B, T] = x.shape;
    // The widest activation is [B, J, T, C]: split the batch so each chunk fits a storage binding.
    const widest = Math.max(this.spec.inputDim, ...this.gcn.map((g) => g.outChannels));
    const limit = GraphStreamEncoder.chunkBytes ?? x.backend.maxBindingBytes;
    const perSample = J * T * widest * 4;
    const chunk = Math.max(1, Math.floor(limit / Math.max(perSample, 1)));
    if (B <= chunk) return this.encode(x, clips);
    return tidy(() => {
      const parts: Tensor[] = [];
      for (let s = 0; s < B; s += chunk) parts.push(this.encode(slice(x, 0, s, Math.min(B, s + chunk)), clips));
      return concat(parts, 0);
    });
  }
  private normalize(x: Tensor): Tensor {
    const norm = this.inputNorm;
    if (norm === 'none') return x;
    const h = norm === 'center' || norm === 'center-standardize' ? E.sub(x, mean(x, 2, true)) : x;
    if (norm === 'center-standardize' || norm === 'standardize') return E.mul(E.sub(h, this.inputMean!), this.inputInvStd!);
    const rms = E.sqrt(E.add(mean(E.mul(h, h), [1, 2, 3], true), 1e-6));
    return E.div(h, rms);
  }
  private encode(x: Tensor, clips: number): Tensor {
    return tidy(() => {
      const [B, T] = x.shape;
      let h = contiguous(permute(this.normalize(x), [0, 2, 1, 3])); // [B, J, T, C]: joint-major for one big adjacency matmul
      for (const g of this.gcn) h = E.relu(g.forwardJointMajor(h));
      const C = h.shape[3];
      const perFrame = this.jointPool === 'concat' ? reshape(contiguous(permute(h, [0, 2, 1, 3])), [B, T, this.layout.joints * C]) : mean(h, 1); // [B, T, J·C] or [B, T, C]
      const pooled = segmentPool(perFrame, clips); // [B, N, ·]
      return this.drop.forward(this.proj.forward(pooled));
    });
  }
  flops(ctx: FlopContext): number {
    const T = ctx.lengths[this.spec.name] ?? ctx.clips;
    const J = this.layout.joints;
    let total = 0;
    for (const g of this.gcn) total += g.flops([T, J, g.inChannels]);
    const c = this.gcn.length ? this.gcn[this.gcn.length - 1].outChannels : this.spec.inputDim;
    const width = this.jointPool === 'concat' ? J * c : c;
    return total + 2 * ctx.clips * T * width + this.proj.flops([ctx.clips, width]);
  }
}

/**
 * The per (joint, channel) mean and standard deviation over every frame of the samples'
 * `spec.name` joints [T, J, C] (each frame first centered over its joints for inputNorm
 * 'center-standardize', as GraphStreamEncoder does): the inputStats of a standardizing stream.
 */
export function graphInputStats(samples: readonly Sample[], spec: StreamSpec): { mean: number[]; std: number[] } {
  const J = resolveLayout(spec.layout!).joints;
  const C = spec.inputDim;
  const center = spec.inputNorm === 'center-standardize';
  const sum = new Float64Array(J * C);
  const sq = new Float64Array(J * C);
  const frameMean = new Float64Array(C);
  let frames = 0;
  for (const s of samples) {
    const f = s.modalities[spec.name];
    if (!f) continue;
    if (f.shape.length !== 3 || f.shape[1] !== J) throw new Error(`graphInputStats: sample '${s.id}' has '${spec.name}' of shape [${f.shape.join(', ')}], expected [T, ${J}, C]`);
    const Cin = f.shape[2]!;
    for (let t = 0; t < f.shape[0]!; t++) {
      const base = t * J * Cin;
      frameMean.fill(0);
      if (center) for (let j = 0; j < J; j++) for (let c = 0; c < Math.min(C, Cin); c++) frameMean[c] += f.data[base + j * Cin + c]! / J;
      for (let j = 0; j < J; j++) {
        for (let c = 0; c < C; c++) {
          const v = c < Cin ? f.data[base + j * Cin + c]! - frameMean[c]! : 0; // collate zero-fills missing channels
          sum[j * C + c] += v;
          sq[j * C + c] += v * v;
        }
      }
      frames++;
    }
  }
  if (frames === 0) throw new Error(`graphInputStats: no sample has '${spec.name}'`);
  const meanOut = Array.from(sum, (v) => v / frames);
  return { mean: meanOut, std: Array.from(sq, (v, i) => Math.max(1e-6, Math.sqrt(Math.max(0, v / frames - meanOut[i]! ** 2)))) };
}

export function makeStreamEncoder(spec: StreamSpec, dOut: number, dropout: number, centerTime = false): StreamEncoder {
  return spec.kind === 'graph' ? new GraphStreamEncoder(spec, dOut, dropout) : new LinearStreamEncoder(spec, dOut, dropout, centerTime);
}

// ---- cross-attention fusion block ----------------------------------------------------------------

export interface AttendOptions {
  /** float [B]: 1 where the keys' modality is present; 0 makes the block the identity for that sample. */
  gate?: Tensor | null;
  /** int32 [B, Tk]: per-key mask (concatenated modalities). */
  keyMask?: Tensor | null;
}

/**
 * Pre-norm multi-head cross-attention with a gated residual:
 *   out = q + gate ⊙ W_o · MHA(W_q LN(q), W_k LN(kv), W_v LN(kv)).
 * Queries [B, Tq, d], keys/values [B, Tk, dKv] -> [B, Tq, d]. K and V come from one fused
 * projection (the attention kernel reads its two halves as strided views).
 */
export class CrossAttentionBlock extends Module {
  readonly normQ: LayerNorm;
  readonly normKv: LayerNorm;
  readonly q: Linear;
  readonly kv: Linear;
  readonly o: Linear;
  constructor(
    readonly d: number,
    readonly heads: number,
    readonly attnDropout = 0,
    readonly dKv = d,
  ) {
    super();
    this.normQ = this.registerModule('normQ', new LayerNorm(d));
    this.normKv = this.registerModule('normKv', new LayerNorm(dKv));
    this.q = this.registerModule('q', new Linear(d, d));
    this.kv = this.registerModule('kv', new Linear(dKv, 2 * d));
    this.o = this.registerModule('o', new Linear(d, d));
  }
  /**
   * Whether W_k and W_v are folded out of the keys (src/attention/folded.ts: the same function,
   * fewer FLOPs when few queries attend to many tokens): where that removes at least two thirds of
   * the FLOPs (it runs more, smaller kernels, so a small gain would not pay); not with attention
   * dropout (the fused kernel's).
   */
  folds(Tq: number, Tk: number): boolean {
    if (this.attnDropout > 0 && this.training) return false;
    const f = attentionFlops(Tq, Tk, this.d, this.dKv, this.heads);
    return f.standard >= 3 * f.folded;
  }
  forward(query: Tensor, keyValue: Tensor, opts: AttendOptions = {}): Tensor {
    return tidy(() => {
      const q = this.q.forward(this.normQ.forward(query));
      const x = this.normKv.forward(keyValue);
      let a: Tensor;
      if (this.folds(query.shape[1], keyValue.shape[1])) {
        a = foldedCrossAttention(q, x, this.kv.weight, this.kv.bias, this.heads, opts.keyMask ?? null);
      } else {
        const kv = this.kv.forward(x);
        const k = slice(kv, 2, 0, this.d);
        const v = slice(kv, 2, this.d, 2 * this.d);
        a = crossAttention(q, k, v, { heads: this.heads, keyMask: opts.keyMask ?? null, dropout: this.attnDropout, training: this.training });
      }
      let delta = this.o.forward(a);
      if (opts.gate) delta = E.mul(delta, reshape(opts.gate, [query.shape[0], 1, 1]));
      return E.add(query, delta);
    });
  }
  /** FLOPs for Tq queries over Tk keys (of the form that runs: folded or standard). */
  flops(Tq: number, Tk: number): number {
    const f = attentionFlops(Tq, Tk, this.d, this.dKv, this.heads);
    return (
      this.normQ.flops([Tq, this.d]) +
      this.normKv.flops([Tk, this.dKv]) +
      this.q.flops([Tq, this.d]) +
      (this.folds(Tq, Tk) ? f.folded : this.kv.flops([Tk, this.dKv]) + 4 * Tq * Tk * this.d) + // projections, scores and weighted sum
      5 * this.heads * Tq * Tk + // softmax
      this.o.flops([Tq, this.d]) +
      2 * Tq * this.d
    );
  }
}

// ---- pooling and TemporalModulate ------------------------------------------------------------------

/** Learned attention pooling over tokens: softmax(w·x_t + b) weighted sum. [B, T, d] -> [B, d]. */
export class AttentionPool extends Module {
  readonly score: Linear;
  constructor(readonly d: number) {
    super();
    this.score = this.registerModule('score', new Linear(d, 1));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const w = softmax(this.score.forward(x), 1); // [B, T, 1]
      return sum(E.mul(w, x), 1);
    });
  }
  flops(T: number): number {
    return this.score.flops([T, this.d]) + 5 * T + 2 * T * this.d;
  }
}

/**
 * TemporalModulate (Eq. 13) over CLIP image tokens [B, Timg, Cin]:
 *   F0 = dropout(GELU(Linear(Cin, d)(H)))                       frame embedding
 *   F  = F0 + TemporalConv1d_k(GELU(LN(F0)))                     temporal mixing (residual)
 *   h_img = AttentionPool(F)                                     learned temporal pooling
 * Returns both the modulated frames F [B, Timg, d] and h_img [B, d].
 */
export class TemporalModulate extends Module {
  readonly embed: Linear;
  readonly drop: Dropout;
  readonly norm: LayerNorm;
  readonly conv: TemporalConv1d;
  readonly pool: AttentionPool;
  constructor(
    readonly inputDim: number,
    readonly d: number,
    kernelSize: number,
    dropout: number,
  ) {
    super();
    this.embed = this.registerModule('embed', new Linear(inputDim, d, { activation: 'gelu' }));
    this.drop = this.registerModule('drop', new Dropout(dropout));
    this.norm = this.registerModule('norm', new LayerNorm(d));
    this.conv = this.registerModule('conv', new TemporalConv1d(d, d, kernelSize));
    this.pool = this.registerModule('pool', new AttentionPool(d));
  }
  forward(x: Tensor): { frames: Tensor; pooled: Tensor } {
    if (x.rank !== 3 || x.shape[2] !== this.inputDim) throw new Error(`TemporalModulate: expected [B, T, ${this.inputDim}], got ${x.describe()}`);
    return tidy(() => {
      const f0 = this.drop.forward(this.embed.forward(x));
      const frames = E.add(f0, this.conv.forward(E.gelu(this.norm.forward(f0))));
      return { frames, pooled: this.pool.forward(frames) };
    });
  }
  flops(T: number): number {
    return this.embed.flops([T, this.inputDim]) + this.norm.flops([T, this.d]) + this.conv.flops([T, this.d]) + this.pool.flops(T) + 2 * T * this.d;
  }
}

/** Broadcasts a float [B] mask to an int32 [B, n] key mask. */
export function keyMaskFrom(gates: (Tensor | null)[], lengths: number[], B: number, like: Tensor): Tensor | null {
  if (gates.every((g) => !g)) return null;
  return tidy(() => {
    const parts = gates.map((g, i) => {
      const base = g ?? fill(like, [B], 1);
      return expand(reshape(base, [B, 1]), [B, lengths[i]]);
    });
    return E.cast(concat(parts.map((p) => contiguous(p)), 1), 'int32');
  });
}
