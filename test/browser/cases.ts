/**
 * Kernel parity cases run twice: in Node on the CPU reference backend (float64) and in the page on
 * its WebGPU device through the browser bundle. `run` is shipped to the page as source text
 * (Function.prototype.toString), so it may use only its two parameters: `L`, the library (src/index.ts
 * in Node, dist/browser/index.js in the page), and `x`, the named input tensors.
 */
import type { Tensor } from '../../src/index.js';

type Lib = typeof import('../../src/index.js');
/** float input of this shape (values ~ N(0,1) * scale), or int32 labels in [0, int). */
export type InputSpec = number[] | { shape: number[]; int?: number; scale?: number };

export interface ParityCase {
  name: string;
  inputs: Record<string, InputSpec>;
  run: (L: Lib, x: Record<string, Tensor>) => Tensor | Tensor[];
  /** Only when the library has this export (families other engineers are still writing). */
  needs?: string;
}

export const CASES: ParityCase[] = [
  {
    name: 'matmul [33,47] @ [47,29] (sizes off the tile grid)',
    inputs: { a: [33, 47], b: [47, 29] },
    run: (L, x) => L.matmul(x.a, x.b),
  },
  {
    name: 'batched broadcasting matmul [2,3,17,9] @ [9,13] and [3,9,5]',
    inputs: { a: [2, 3, 17, 9], b: [9, 13], c: [3, 9, 5] },
    run: (L, x) => [L.matmul(x.a, x.b), L.matmul(x.a, x.c)],
  },
  {
    name: 'matmul of transposed views, linear with bias + gelu epilogue',
    inputs: { a: [40, 24], b: [31, 40], w: [12, 24], bias: [12] },
    run: (L, x) => [L.matmul(x.a.transpose(0, 1), x.b.transpose(0, 1)), L.linear(x.a, x.w, x.bias, 'gelu')],
  },
  {
    name: 'softmax / logSoftmax on either axis, a long row',
    inputs: { a: { shape: [7, 50], scale: 3 }, b: [64, 5], c: { shape: [3, 1000], scale: 4 } },
    run: (L, x) => [L.softmax(x.a), L.softmax(x.b, 0), L.logSoftmax(x.b.mul(4)), L.softmax(x.c)],
  },
  {
    name: 'layerNorm [6,96] with weight and bias; l2Normalize',
    inputs: { a: { shape: [6, 96], scale: 2 }, w: [96], b: [96], c: [4, 3, 8] },
    run: (L, x) => [L.layerNorm(x.a.add(1), x.w, x.b), L.layerNorm(x.c), L.l2Normalize(x.c, 1)],
  },
  {
    name: 'reductions: sum / mean / max / min / logsumexp over axes, all, keepDims',
    inputs: { a: [5, 6, 7] },
    run: (L, x) => [
      L.sum(x.a, [0, 2], true),
      L.mean(x.a, 1),
      L.max(x.a, 2),
      L.min(x.a, 0),
      L.logsumexp(x.a, -1),
      L.sum(x.a),
      L.mean(x.a.permute([2, 0, 1]), [0, 1]),
    ],
  },
  {
    name: 'argmax / argmin (int32 results)',
    inputs: { a: [9, 11] },
    run: (L, x) => [L.argmax(x.a, 1), L.argmin(x.a, 0), L.argmax(x.a)],
  },
  {
    name: 'elementwise ops with broadcasting and strided views',
    inputs: { a: [4, 1, 6], b: [3, 1], c: [6, 4] },
    run: (L, x) => [
      x.a.add(x.b).mul(x.a.sigmoid()).sub(x.b.tanh()).div(x.a.abs().add(1)),
      L.gelu(x.a),
      L.exp(x.a.mul(0.5)),
      L.sqrt(x.c.abs().add(0.1)),
      L.clamp(x.c, -0.5, 0.5),
      L.where(L.gt(x.c, 0), x.c, x.c.mul(0.1)),
    ],
  },
  {
    name: 'maximum / minimum of a transposed view and a reshaped tensor',
    inputs: { a: [4, 6], c: [6, 4] },
    run: (L, x) => [L.maximum(x.c.transpose(0, 1), x.a), L.minimum(x.a, x.c.transpose(0, 1)), L.maximum(x.a, 0.25)],
  },
  {
    name: 'backward: two-layer MLP + crossEntropy',
    inputs: { x: [8, 16], w1: { shape: [16, 32], scale: 0.3 }, b1: [32], w2: { shape: [32, 5], scale: 0.3 }, y: { shape: [8], int: 5 } },
    run: (L, x) => {
      const w1 = x.w1.requiresGrad_();
      const b1 = x.b1.requiresGrad_();
      const w2 = x.w2.requiresGrad_();
      const inp = x.x.requiresGrad_();
      const loss = L.crossEntropy(L.matmul(inp, w1).add(b1).gelu().matmul(w2), x.y);
      loss.backward();
      return [loss, w1.grad!, b1.grad!, w2.grad!, inp.grad!];
    },
  },
  {
    name: 'backward: layerNorm, softmax, transposed matmul, max / logsumexp / mean',
    inputs: { a: [5, 12], w: [12], b: [12], k: [7, 12] },
    run: (L, x) => {
      const a = x.a.requiresGrad_();
      const w = x.w.requiresGrad_();
      const b = x.b.requiresGrad_();
      const k = x.k.requiresGrad_();
      const h = L.layerNorm(a, w, b);
      const att = L.softmax(L.matmul(h, k.transpose(0, 1)).mul(0.5));
      const out = L.matmul(att, k);
      const loss = L.max(out, 1).sum().add(L.logsumexp(out, 0).mean()).add(out.mul(out).mean());
      loss.backward();
      return [loss, a.grad!, w.grad!, b.grad!, k.grad!];
    },
  },
  {
    name: 'crossAttention forward and backward, 4 heads, key mask',
    needs: 'crossAttention',
    inputs: { q: [2, 5, 16], k: [2, 7, 16], v: [2, 7, 16], m: { shape: [2, 7], int: 2 }, w: [2, 5, 16] },
    run: (L, x) => {
      const q = x.q.requiresGrad_();
      const k = x.k.requiresGrad_();
      const v = x.v.requiresGrad_();
      const lib = L as unknown as { crossAttention: (q: Tensor, k: Tensor, v: Tensor, o: object) => Tensor };
      const y = lib.crossAttention(q, k, v, { heads: 4, keyMask: x.m });
      y.mul(x.w).sum().backward();
      return [y, q.grad!, k.grad!, v.grad!];
    },
  },
  {
    name: 'gramVolumeMatrix K=3 forward and backward',
    needs: 'gramVolumeMatrix',
    inputs: { a: [6, 16], o: [6, 2, 16], w: [6, 6] },
    run: (L, x) => {
      const a = x.a.requiresGrad_();
      const o = x.o.requiresGrad_();
      const lib = L as unknown as { gramVolumeMatrix: (a: Tensor, o: Tensor) => Tensor };
      const V = lib.gramVolumeMatrix(a, o);
      V.mul(x.w).sum().backward();
      return [V, a.grad!, o.grad!];
    },
  },
  {
    name: 'gramContrastiveLoss (fused, tau 0.1) and contrastiveSoftmaxLoss with smoothing, backward',
    needs: 'gramContrastiveLoss',
    inputs: { a: [8, 12], o: [8, 12], z: { shape: [7, 7], scale: 2 } },
    run: (L, x) => {
      const lib = L as unknown as {
        gramContrastiveLoss: (a: Tensor, o: Tensor, opts: object) => Tensor;
        contrastiveSoftmaxLoss: (z: Tensor, opts: object) => Tensor;
      };
      const a = x.a.requiresGrad_();
      const o = x.o.requiresGrad_();
      const z = x.z.requiresGrad_();
      const l1 = lib.gramContrastiveLoss(a, o, { tau: 0.1 });
      const l2 = lib.contrastiveSoftmaxLoss(z, { labelSmoothing: 0.1 });
      l1.add(l2).backward();
      return [l1, l2, a.grad!, o.grad!, z.grad!];
    },
  },
];
