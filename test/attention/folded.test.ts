// Folded cross-attention (src/attention/folded.ts): W_k folded into the queries and the values pooled
// before W_v is the same function as projecting every token. Checked in float64 on the CPU reference
// (forward and every gradient, with masked keys and a sample with no key), at the block level
// (CrossAttentionBlock folds where it pays, and matches itself unfolded), and on the GPU in float32.
import { describe, expect, it } from 'vitest';
import { tensor, linear, slice, crossAttentionUnfused, sum, mul, withParamOptions, writeTensor, type Tensor } from '../../src/index.js';
import { foldedCrossAttention, attentionFlops } from '../../src/attention/folded.js';
import { CrossAttentionBlock } from '../../src/models/blocks.js';
import { mulberry32 } from '../prng.js';

type Where = { backend: 'cpu'; dtype: 'float64' } | { backend?: undefined; dtype?: undefined };
const CPU64: Where = { backend: 'cpu', dtype: 'float64' };

function draw(seed: number, n: number, scale = 1): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

function leaf(v: Float64Array, shape: number[], where: Where): Tensor {
  const data = where.dtype === 'float64' ? v : Float32Array.from(v);
  return tensor(data, shape, { ...where, requiresGrad: true });
}

/** Both forms on the same leaves: out = Σ g ⊙ attention, backward; returns outputs and gradients. */
async function both(B: number, Tq: number, Tk: number, d: number, dKv: number, H: number, where: Where, masked: boolean) {
  const run = async (folded: boolean) => {
    const q = leaf(draw(1, B * Tq * d), [B, Tq, d], where);
    const x = leaf(draw(2, B * Tk * dKv), [B, Tk, dKv], where);
    const w = leaf(draw(3, 2 * d * dKv, 0.5), [2 * d, dKv], where);
    const b = leaf(draw(4, 2 * d, 0.5), [2 * d], where);
    const g = tensor(where.dtype === 'float64' ? draw(5, B * Tq * d) : Float32Array.from(draw(5, B * Tq * d)), [B, Tq, d], where);
    let mask: Tensor | null = null;
    if (masked) {
      // Sample 0: some keys masked; sample 1 (when B > 1): no key at all.
      const keep = Int32Array.from({ length: B * Tk }, (_, i) => (Math.floor(i / Tk) === 1 ? 0 : (i % 3 === 1 ? 0 : 1)));
      mask = tensor(keep, [B, Tk], { dtype: 'int32', backend: where.backend });
    }
    let out: Tensor;
    if (folded) out = foldedCrossAttention(q, x, w, b, H, mask);
    else {
      const kv = linear(x, w, b);
      out = crossAttentionUnfused(q, slice(kv, 2, 0, d), slice(kv, 2, d, 2 * d), { heads: H, keyMask: mask });
    }
    sum(mul(out, g)).backward();
    return { out: await out.data(), grads: await Promise.all([q, x, w, b].map((t) => t.grad!.data())) };
  };
  return { folded: await run(true), standard: await run(false) };
}

function maxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

describe('folded cross-attention', () => {
  it('float64 CPU: forward and the gradients of q, x, W_kv and b_kv equal the unfolded form (masked keys, a sample with no key)', async () => {
    for (const [B, Tq, Tk, d, dKv, H] of [
      [2, 1, 7, 8, 8, 2],
      [2, 3, 11, 12, 6, 3],
    ]) {
      const r = await both(B, Tq, Tk, d, dKv, H, CPU64, true);
      expect(maxErr(r.folded.out, r.standard.out), `out ${[B, Tq, Tk, d, dKv, H]}`).toBeLessThan(1e-12);
      const names = ['dq', 'dx', 'dW_kv', 'db_kv'];
      r.folded.grads.forEach((gf, i) => expect(maxErr(gf, r.standard.grads[i]), `${names[i]} ${[B, Tq, Tk, d, dKv, H]}`).toBeLessThan(1e-11));
      // The key bias cancels in the softmax: its exact gradient is 0, which the folded form gives exactly.
      expect(Array.from(r.folded.grads[3].slice(0, d)).every((v) => v === 0)).toBe(true);
      // The sample with no key attends to nothing.
      expect(Array.from(r.folded.out.slice(Tq * d, 2 * Tq * d)).every((v) => v === 0)).toBe(true);
    }
  });

  it('float64 CPU, no mask: the same', async () => {
    const r = await both(3, 2, 9, 8, 16, 4, CPU64, false);
    expect(maxErr(r.folded.out, r.standard.out)).toBeLessThan(1e-12);
    r.folded.grads.forEach((gf, i) => expect(maxErr(gf, r.standard.grads[i])).toBeLessThan(1e-11));
  });

  it('GPU float32: folded matches the unfolded form', async () => {
    const r = await both(2, 1, 104, 64, 64, 8, {}, true);
    const scale = Math.max(1, ...Array.from(r.standard.out).map(Math.abs));
    expect(maxErr(r.folded.out, r.standard.out) / scale).toBeLessThan(1e-4);
    r.folded.grads.forEach((gf, i) => {
      const s = Math.max(1e-3, ...Array.from(r.standard.grads[i]).map(Math.abs));
      expect(maxErr(gf, r.standard.grads[i]) / s, `grad ${i}`).toBeLessThan(1e-3);
    });
  });

  it('CrossAttentionBlock folds where it needs fewer FLOPs (EnhanceText, Enhance), not for square stage-1 blocks; the same output and gradients as unfolded', async () => {
    const enhance = new CrossAttentionBlock(512, 8);
    expect(enhance.folds(1, 104)).toBe(true);
    expect(enhance.folds(10, 104)).toBe(true);
    expect(new CrossAttentionBlock(1024, 8).folds(10, 10)).toBe(false);
    expect(new CrossAttentionBlock(8, 2).folds(3, 6)).toBe(false); // saves under two thirds: not worth more kernels
    const f = attentionFlops(1, 104, 512, 512, 8);
    expect(f.standard / f.folded).toBeGreaterThan(30);
    const evalBlock = new CrossAttentionBlock(512, 8, 0.1);
    evalBlock.eval();
    expect(evalBlock.folds(1, 104)).toBe(true); // eval: dropout is off
    const train = new CrossAttentionBlock(512, 8, 0.1);
    train.train();
    expect(train.folds(1, 104)).toBe(false); // attention dropout in training: the fused kernel
    for (const m of [enhance, evalBlock, train]) m.dispose();

    // Block level, float64 CPU: folded vs the same block forced unfolded.
    const B = 2;
    const Tq = 1;
    const Tk = 12;
    const d = 8;
    class Unfolded extends CrossAttentionBlock {
      override folds(): boolean {
        return false;
      }
    }
    const outs: { y: Float64Array; grads: Float64Array[] }[] = [];
    for (const Block of [CrossAttentionBlock, Unfolded]) {
      const blk = withParamOptions(CPU64, () => new Block(d, 2));
      blk.parameters().forEach((p, i) => writeTensor(p, draw(10 + i, p.size)));
      expect(blk.folds(Tq, Tk)).toBe(Block === CrossAttentionBlock);
      const q = leaf(draw(20, B * Tq * d), [B, Tq, d], CPU64);
      const kv = leaf(draw(21, B * Tk * d), [B, Tk, d], CPU64);
      const y = blk.forward(q, kv);
      sum(mul(y, tensor(draw(22, B * Tq * d), [B, Tq, d], CPU64))).backward();
      outs.push({ y: (await y.data()) as Float64Array, grads: (await Promise.all([q, kv, ...blk.parameters()].map((t) => t.grad!.data()))) as Float64Array[] });
    }
    expect(maxErr(outs[0].y, outs[1].y)).toBeLessThan(1e-12);
    outs[0].grads.forEach((g, i) => expect(maxErr(g, outs[1].grads[i]), `grad ${i}`).toBeLessThan(1e-11));
  });
});
