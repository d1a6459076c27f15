/**
 * Layers with PyTorch's default initializations: Linear, LayerNorm, Dropout, GELU, ReLU, Identity,
 * Sequential, MLP, TemporalConv1d (a 1-D convolution over the token axis).
 *
 * All operate on the last axis of any-rank input ([..., features]) unless they say otherwise.
 */
import type { Tensor } from '../autograd/tensor.js';
import { linear } from '../autograd/ops/linalg.js';
import { dropout, layerNorm } from '../autograd/ops/nn.js';
import * as E from '../autograd/ops/elementwise.js';
import { concat, fill, slice } from '../autograd/ops/shape.js';
import { tidy } from '../autograd/engine.js';
import { Module } from './module.js';
import { kaimingUniform, linearBias, onesParam, zerosParam } from './init.js';

/** Multiply-accumulate counts for summary(): a layer reports FLOPs (2 per MAC) per call given its input shape. */
export interface FlopCounter {
  flops(inputShape: readonly number[]): number;
}

export interface LinearOptions {
  bias?: boolean;
  /** Fused activation in the matmul epilogue (default 'none'). */
  activation?: 'none' | 'relu' | 'gelu';
}

/**
 * y = x Wᵀ + b, W [out, in]. Init as torch.nn.Linear: W ~ kaiming_uniform(a = √5), i.e.
 * U(−1/√in, 1/√in); b ~ U(−1/√in, 1/√in).
 */
export class Linear extends Module implements FlopCounter {
  weight: Tensor;
  bias: Tensor | null;
  readonly activation: 'none' | 'relu' | 'gelu';
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    if (!(inFeatures > 0 && outFeatures > 0)) throw new Error(`Linear(${inFeatures}, ${outFeatures}): sizes must be positive`);
    this.weight = this.registerParameter('weight', kaimingUniform([outFeatures, inFeatures], Math.sqrt(5)));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', linearBias(outFeatures, inFeatures));
    this.activation = opts.activation ?? 'none';
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, this.activation);
  }
  flops(inputShape: readonly number[]): number {
    const rows = inputShape.slice(0, -1).reduce((p, d) => p * d, 1);
    return 2 * rows * this.inFeatures * this.outFeatures + (this.bias ? rows * this.outFeatures : 0);
  }
}

/** LayerNorm over the last axis; weight = 1, bias = 0 (torch defaults), eps 1e-5. */
export class LayerNorm extends Module implements FlopCounter {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly eps: number;
  constructor(
    readonly normalizedShape: number,
    opts: { eps?: number; elementwiseAffine?: boolean } = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', onesParam([normalizedShape])) : null;
    this.bias = affine ? this.registerParameter('bias', zerosParam([normalizedShape])) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
  flops(inputShape: readonly number[]): number {
    return 8 * inputShape.reduce((p, d) => p * d, 1);
  }
}

/** Inverted dropout, active only in training mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, true);
  }
}

export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return E.gelu(x, { approximate: this.approximate });
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return E.relu(x);
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Runs its modules in order. */
export class Sequential extends Module implements FlopCounter {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.layers) h = m.forward(h);
    return h;
  }
  flops(inputShape: readonly number[]): number {
    let total = 0;
    let shape = [...inputShape];
    for (const m of this.layers) {
      if (isFlopCounter(m)) total += m.flops(shape);
      if (m instanceof Linear) shape = [...shape.slice(0, -1), m.outFeatures];
      else if (m instanceof MLP) shape = [...shape.slice(0, -1), m.outFeatures];
    }
    return total;
  }
}

export function isFlopCounter(m: unknown): m is FlopCounter {
  return typeof (m as FlopCounter)?.flops === 'function';
}

export interface MLPOptions {
  activation?: 'gelu' | 'relu';
  /** Dropout after each hidden activation (default 0). */
  dropout?: number;
  /** LayerNorm after each hidden linear, before the activation (default false). */
  layerNorm?: boolean;
  bias?: boolean;
}

/** Linear → act → dropout → ... → Linear over `dims` = [in, hidden..., out]. */
export class MLP extends Module implements FlopCounter {
  readonly linears: Linear[] = [];
  readonly norms: LayerNorm[] = [];
  readonly drop: Dropout | null;
  readonly activation: 'gelu' | 'relu';
  readonly outFeatures: number;
  constructor(
    readonly dims: number[],
    opts: MLPOptions = {},
  ) {
    super();
    if (dims.length < 2) throw new Error(`MLP: need at least [in, out], got [${dims}]`);
    this.activation = opts.activation ?? 'gelu';
    for (let i = 0; i + 1 < dims.length; i++) {
      this.linears.push(this.registerModule(`fc${i}`, new Linear(dims[i], dims[i + 1], { bias: opts.bias })));
      if (opts.layerNorm && i + 2 < dims.length) this.norms.push(this.registerModule(`norm${i}`, new LayerNorm(dims[i + 1])));
    }
    this.drop = opts.dropout ? this.registerModule('drop', new Dropout(opts.dropout)) : null;
    this.outFeatures = dims[dims.length - 1];
  }
  forward(x: Tensor): Tensor {
    let h = x;
    const last = this.linears.length - 1;
    this.linears.forEach((l, i) => {
      if (i === last) {
        h = l.forward(h);
        return;
      }
      const norm = this.norms[i];
      if (norm) {
        h = norm.forward(l.forward(h));
        h = this.activation === 'relu' ? E.relu(h) : E.gelu(h);
      } else {
        // Activation fused into the matmul epilogue.
        h = linear(h, l.weight, l.bias, this.activation);
      }
      if (this.drop) h = this.drop.forward(h);
    });
    return h;
  }
  flops(inputShape: readonly number[]): number {
    let shape = [...inputShape];
    let total = 0;
    for (const l of this.linears) {
      total += l.flops(shape);
      shape = [...shape.slice(0, -1), l.outFeatures];
    }
    return total;
  }
}

/**
 * A 1-D convolution over the token axis of [B, T, C] input ('same' zero padding, stride 1),
 * torch.nn.Conv1d's init (fan_in = C·k). Implemented as k shifted views concatenated on the
 * channel axis and one matmul ([B, T, k·C] @ [k·C, Cout]): the weight is stored
 * [Cout, k·C] (tap-major), which is torch's [Cout, C, k] permuted.
 */
export class TemporalConv1d extends Module implements FlopCounter {
  weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize = 3,
    opts: { bias?: boolean; dilation?: number } = {},
  ) {
    super();
    if (kernelSize < 1 || kernelSize % 2 === 0) throw new Error(`TemporalConv1d: kernelSize must be odd and ≥ 1, got ${kernelSize}`);
    this.dilation = opts.dilation ?? 1;
    const fanIn = inChannels * kernelSize;
    this.weight = this.registerParameter('weight', kaimingUniform([outChannels, fanIn], Math.sqrt(5), fanIn));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', linearBias(outChannels, fanIn));
  }
  readonly dilation: number;
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.inChannels) throw new Error(`TemporalConv1d: expected [B, T, ${this.inChannels}], got ${x.describe()}`);
    const [B, T, C] = x.shape;
    const half = (this.kernelSize - 1) / 2;
    if (this.kernelSize === 1) return linear(x, this.weight, this.bias);
    const cols = tidy(() => {
      const pad = half * this.dilation;
      const z = fill(x, [B, pad, C], 0);
      const padded = concat([z, x, z], 1); // [B, T + 2·pad, C]
      const taps: Tensor[] = [];
      for (let k = 0; k < this.kernelSize; k++) taps.push(slice(padded, 1, k * this.dilation, k * this.dilation + T));
      return concat(taps, 2); // [B, T, k·C]
    });
    const y = linear(cols, this.weight, this.bias);
    cols.dispose();
    return y;
  }
  flops(inputShape: readonly number[]): number {
    const rows = inputShape.slice(0, -1).reduce((p, d) => p * d, 1);
    return 2 * rows * this.inChannels * this.kernelSize * this.outChannels;
  }
}
