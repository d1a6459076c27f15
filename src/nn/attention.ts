/**
 * MultiHeadCrossAttention: projections around the fused crossAttention op (src/attention).
 *
 *   q = query Wqᵀ,  [k | v] = context Wkvᵀ (one fused [2D, kvDim] projection),
 *   a = crossAttention(q, k, v, heads, keyMask, dropout),  y = a Woᵀ
 *   then optionally y = query + y (residual) and LayerNorm (after the residual by default,
 *   or on the query before the projections with layerNorm: 'pre').
 *
 * When the context is the query itself (self-attention; kvDim = dModel) the three projections
 * run as one fused [3D, D] matmul. When keys and values come from different tensors the two
 * halves of the KV weight are applied separately. The projections' outputs go to the kernel as
 * strided slices, without a copy.
 */
import type { Tensor } from '../autograd/tensor.js';
import { linear } from '../autograd/ops/linalg.js';
import { concat, slice } from '../autograd/ops/shape.js';
import * as E from '../autograd/ops/elementwise.js';
import { tidy } from '../autograd/engine.js';
import { ShapeError } from '../gpu/errors.js';
import { crossAttention } from '../attention/crossAttention.js';
import { Module } from './module.js';
import { LayerNorm, Linear } from './layers.js';

export interface MultiHeadCrossAttentionOptions {
  /** attention-probability dropout (training mode only), default 0 */
  dropout?: number;
  /** biases on the four projections, default true */
  bias?: boolean;
  /** add the query to the output (requires kvDim-independent dModel shapes), default false */
  residual?: boolean;
  /** LayerNorm over dModel: true or 'post' after the residual/output, 'pre' on the query and context first; default none */
  layerNorm?: boolean | 'pre' | 'post';
  /** feature size of the keys/values source, default dModel */
  kvDim?: number;
}

export interface AttendOptions {
  /** int32 [B, Tk]: nonzero keeps a key */
  keyMask?: Tensor | null;
}

export class MultiHeadCrossAttention extends Module {
  readonly q: Linear;
  /** fused K/V projection: weight [2·dModel, kvDim], rows 0..dModel for K, the rest for V */
  readonly kv: Linear;
  readonly out: Linear;
  readonly norm: LayerNorm | null;
  /** LayerNorm of the context for layerNorm: 'pre' (over kvDim) */
  readonly normKv: LayerNorm | null;
  readonly dropout: number;
  readonly residual: boolean;
  readonly normPlace: 'pre' | 'post' | null;
  readonly kvDim: number;
  readonly headDim: number;

  constructor(
    readonly dModel: number,
    readonly heads: number,
    opts: MultiHeadCrossAttentionOptions = {},
  ) {
    super();
    if (!Number.isInteger(dModel) || dModel <= 0) throw new ShapeError(`MultiHeadCrossAttention: dModel must be a positive integer, got ${dModel}`);
    if (!Number.isInteger(heads) || heads <= 0 || dModel % heads !== 0) {
      throw new ShapeError(`MultiHeadCrossAttention: dModel = ${dModel} is not divisible by heads = ${heads}`);
    }
    const p = opts.dropout ?? 0;
    if (!(p >= 0 && p < 1)) throw new ShapeError(`MultiHeadCrossAttention: dropout must be in [0, 1), got ${p}`);
    this.dropout = p;
    this.kvDim = opts.kvDim ?? dModel;
    this.headDim = dModel / heads;
    this.residual = opts.residual ?? false;
    this.normPlace = opts.layerNorm === 'pre' ? 'pre' : opts.layerNorm ? 'post' : null;
    const bias = opts.bias ?? true;
    this.q = this.registerModule('q', new Linear(dModel, dModel, { bias }));
    this.kv = this.registerModule('kv', new Linear(this.kvDim, 2 * dModel, { bias }));
    this.out = this.registerModule('out', new Linear(dModel, dModel, { bias }));
    this.norm = this.normPlace ? this.registerModule('norm', new LayerNorm(dModel)) : null;
    this.normKv = this.normPlace === 'pre' ? this.registerModule('normKv', new LayerNorm(this.kvDim)) : null;
  }

  /**
   * query [B, Tq, dModel]; context [B, Tk, kvDim] (default: the query itself), or separate
   * key and value sources with `value`. Returns [B, Tq, dModel].
   */
  forward(query: Tensor, context: Tensor = query, opts: AttendOptions & { value?: Tensor } = {}): Tensor {
    const D = this.dModel;
    if (query.rank !== 3 || query.shape[2] !== D) throw new ShapeError(`MultiHeadCrossAttention: query must be [B, Tq, ${D}], got ${query.describe()}`);
    for (const [n, t] of [['context', context], ['value', opts.value]] as const) {
      if (t && (t.rank !== 3 || t.shape[2] !== this.kvDim)) throw new ShapeError(`MultiHeadCrossAttention: ${n} must be [B, Tk, ${this.kvDim}], got ${t.describe()}`);
    }
    return tidy(() => {
      const qIn = this.normPlace === 'pre' ? this.norm!.forward(query) : query;
      const selfAttn = context === query && !opts.value && this.kvDim === D;
      let q: Tensor;
      let k: Tensor;
      let v: Tensor;
      if (selfAttn) {
        // one [3D, D] projection; q, k, v are strided views of its output
        const w = concat([this.q.weight, this.kv.weight], 0);
        const b = this.q.bias && this.kv.bias ? concat([this.q.bias, this.kv.bias], 0) : null;
        const qkv = linear(qIn, w, b);
        q = slice(qkv, 2, 0, D);
        k = slice(qkv, 2, D, 2 * D);
        v = slice(qkv, 2, 2 * D, 3 * D);
      } else {
        q = this.q.forward(qIn);
        const ctx = this.normKv ? this.normKv.forward(context) : context;
        if (opts.value) {
          const val = this.normKv ? this.normKv.forward(opts.value) : opts.value;
          const wk = slice(this.kv.weight, 0, 0, D);
          const wv = slice(this.kv.weight, 0, D, 2 * D);
          const bk = this.kv.bias ? slice(this.kv.bias, 0, 0, D) : null;
          const bv = this.kv.bias ? slice(this.kv.bias, 0, D, 2 * D) : null;
          k = linear(ctx, wk, bk);
          v = linear(val, wv, bv);
        } else {
          const kv = this.kv.forward(ctx); // [B, Tk, 2D]
          k = slice(kv, 2, 0, D);
          v = slice(kv, 2, D, 2 * D);
        }
      }
      const a = crossAttention(q, k, v, { heads: this.heads, keyMask: opts.keyMask ?? null, dropout: this.dropout, training: this.training });
      let y = this.out.forward(a);
      if (this.residual) y = E.add(query, y);
      if (this.normPlace === 'post') y = this.norm!.forward(y);
      return y;
    });
  }

  /** FLOPs of one forward for Tq queries over Tk keys (batch 1). */
  flops(Tq: number, Tk: number): number {
    const D = this.dModel;
    return 2 * Tq * D * D + 2 * Tk * this.kvDim * 2 * D + 4 * Tq * Tk * D + 2 * Tq * D * D;
  }
}
