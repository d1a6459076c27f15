// MultiHeadCrossAttention: projections, fused KV / QKV paths, residual + LayerNorm, paramCount.
import { describe, expect, it } from 'vitest';
import { crossAttentionUnfused, layerNorm, linear, manualSeed, MultiHeadCrossAttention, slice, tensor, withParamOptions, type Tensor } from '../../src/index.js';
import { relErr, inputs } from './helpers.js';

async function grads(m: MultiHeadCrossAttention): Promise<Float64Array[]> {
  return Promise.all(m.parameters().map(async (p) => Float64Array.from(await p.grad!.data())));
}

/** The same computation spelled out with engine ops and the unfused attention. */
function reference(m: MultiHeadCrossAttention, query: Tensor, context: Tensor, keyMask: Tensor | null): Tensor {
  const D = m.dModel;
  const q = linear(query, m.q.weight, m.q.bias);
  const k = linear(context, slice(m.kv.weight, 0, 0, D), m.kv.bias ? slice(m.kv.bias, 0, 0, D) : null);
  const v = linear(context, slice(m.kv.weight, 0, D, 2 * D), m.kv.bias ? slice(m.kv.bias, 0, D, 2 * D) : null);
  let y = linear(crossAttentionUnfused(q, k, v, { heads: m.heads, keyMask }), m.out.weight, m.out.bias);
  if (m.residual) y = query.add(y);
  if (m.norm) y = layerNorm(y, m.norm.weight, m.norm.bias);
  return y;
}

describe('MultiHeadCrossAttention', () => {
  it('parameters and paramCount', () => {
    const m = new MultiHeadCrossAttention(32, 4, { kvDim: 24, layerNorm: true });
    expect(m.kv.weight.shape).toEqual([64, 24]);
    expect(m.paramCount()).toBe(32 * 32 + 32 + (64 * 24 + 64) + (32 * 32 + 32) + 2 * 32);
    expect(new MultiHeadCrossAttention(16, 2, { bias: false }).paramCount()).toBe(4 * 16 * 16);
    expect(m.parameters().length).toBe(8);
  });

  for (const backend of ['cpu', 'default'] as const) {
    it(`cross-attention (fused KV) with residual + LayerNorm equals the spelled-out composition (${backend})`, async () => {
      manualSeed(3);
      const opts = backend === 'cpu' ? { backend: 'cpu' as const, dtype: 'float64' as const } : {};
      const m = withParamOptions(opts, () => new MultiHeadCrossAttention(32, 2, { kvDim: 24, residual: true, layerNorm: true }));
      const x = inputs(21, { B: 2, Tq: 5, Tk: 7, D: 32, heads: 2 });
      const query = tensor(x.q, [2, 5, 32], opts);
      const context = tensor(x.k.subarray(0, 2 * 7 * 24), [2, 7, 24], opts);
      const keyMask = tensor(new Int32Array([1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]), [2, 7], { backend: backend === 'cpu' ? 'cpu' : 'default' });
      const y = m.forward(query, context, { keyMask });
      // a random projection of the output (the sum of a LayerNorm output has zero gradient)
      const G = tensor(x.g, [2, 5, 32], opts);
      y.mul(G).sum().backward();
      const gFused = await grads(m);
      const yd = await y.data();
      m.zeroGrad();
      const r = reference(m, query, context, keyMask);
      r.mul(G).sum().backward();
      const gRef = await grads(m);
      const tol = backend === 'cpu' ? 1e-10 : 1e-4;
      expect(relErr(yd, await r.data())).toBeLessThan(tol);
      gFused.forEach((g, i) => expect(relErr(g, gRef[i]), m.namedParameters()[i][0]).toBeLessThan(backend === 'cpu' ? 1e-9 : 1e-3));
    });
  }

  it('self-attention runs one fused QKV projection and matches separate projections', async () => {
    manualSeed(4);
    const m = withParamOptions({ backend: 'cpu', dtype: 'float64' }, () => new MultiHeadCrossAttention(16, 2));
    const x = inputs(22, { B: 2, Tq: 6, Tk: 6, D: 16, heads: 2 });
    const query = tensor(x.q, [2, 6, 16], { backend: 'cpu', dtype: 'float64' });
    const y = m.forward(query); // context defaults to the query: fused QKV
    y.sum().backward();
    const gFused = await grads(m);
    m.zeroGrad();
    const r = reference(m, query, query, null);
    r.sum().backward();
    expect(relErr(await y.data(), await r.data())).toBeLessThan(1e-12);
    (await grads(m)).forEach((g, i) => expect(relErr(gFused[i], g)).toBeLessThan(1e-10));
    // separate key and value sources use the two halves of the KV weight
    const other = tensor(x.k.subarray(0, 2 * 6 * 16), [2, 6, 16], { backend: 'cpu', dtype: 'float64' });
    const yk = m.forward(query, query, { value: other });
    expect(yk.shape).toEqual([2, 6, 16]);
  });

  it('dropout follows train()/eval()', async () => {
    manualSeed(6);
    const m = new MultiHeadCrossAttention(32, 2, { dropout: 0.5 });
    const x = inputs(23, { B: 1, Tq: 8, Tk: 8, D: 32, heads: 2 });
    const query = tensor(Float32Array.from(x.q), [1, 8, 32]);
    const ctx = tensor(Float32Array.from(x.k), [1, 8, 32]);
    m.eval();
    const a = await m.forward(query, ctx).data();
    const b = await m.forward(query, ctx).data();
    expect(Array.from(a)).toEqual(Array.from(b));
    m.train();
    const c = await m.forward(query, ctx).data();
    expect(relErr(c, a)).toBeGreaterThan(1e-3);
  });
});
