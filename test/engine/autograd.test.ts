// Autograd graph semantics: reuse, branches, shared subgraphs, retainGraph, noGrad, detach,
// accumulation, tidy/dispose interplay, and graph memory.
import { describe, expect, it } from 'vitest';
import { tensor, ones, zeros, noGrad, tidy, scope, keep, isGradEnabled, gpuRuntime, sum, Tensor, ShapeError, GpuError, linear, matmul, randn, manualSeed } from '../../src/index.js';
import { record } from '../../src/autograd/engine.js';

const vals = async (t: Tensor | null) => Array.from(await t!.data());
const inUse = () => gpuRuntime()!.poolStats().inUse;

/** An identity op whose backward counts its calls. */
function counted(x: Tensor, counter: { n: number }): Tensor {
  const y = x.mul(1);
  const out = noGrad(() => y.mul(1));
  y.dispose();
  return record('counted', out, [x], (g) => {
    counter.n++;
    return [g];
  });
}

describe('autograd graph', () => {
  it('a tensor used twice accumulates both uses', async () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const y = x.mul(x).add(x).sum(); // d/dx = 2x + 1
    y.backward();
    expect(await vals(x.grad)).toEqual([3, 5, 7]);
  });

  it('branches that rejoin', async () => {
    const x = tensor([0.5, -1, 2], undefined, { requiresGrad: true });
    const a = x.exp();
    const b = x.mul(3);
    const y = a.mul(b).sum(); // d/dx = 3 e^x (1 + x)
    y.backward();
    const g = await vals(x.grad);
    [0.5, -1, 2].forEach((v, i) => expect(g[i]).toBeCloseTo(3 * Math.exp(v) * (1 + v), 4));
  });

  it('a shared subgraph is visited once', async () => {
    const counter = { n: 0 };
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const h = counted(x, counter);
    const y = h.mul(2).add(h.mul(3)).add(h).sum(); // three consumers of h
    y.backward();
    expect(counter.n).toBe(1);
    expect(await vals(x.grad)).toEqual([6, 6]);
  });

  it('pass-through gradients are distinct tensors (add, views)', async () => {
    const a = tensor([1, 2], undefined, { requiresGrad: true });
    const b = tensor([3, 4], undefined, { requiresGrad: true });
    a.add(b).reshape([2, 1]).sum().backward();
    expect(a.grad).not.toBe(b.grad);
    a.zeroGrad();
    expect(await vals(b.grad)).toEqual([1, 1]);
  });

  it('retainGraph allows a second backward; without it the second throws', async () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    const once = await vals(x.grad);
    y.backward();
    const twice = await vals(x.grad);
    twice.forEach((v, i) => expect(v).toBeCloseTo(2 * once[i], 5));
    expect(() => y.backward()).toThrow(/second time.*retainGraph/);
    // The failed call changed nothing.
    expect(await vals(x.grad)).toEqual(twice);
  });

  it('saved activations are released once used', async () => {
    const base = inUse();
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    let h!: Tensor;
    const y = tidy(() => {
      h = x.exp();
      return h.mul(h).sum();
    });
    // x, y, and what the graph saved: exp's output h and mul's output (both disposed by tidy).
    expect(inUse()).toBe(base + 4);
    y.backward();
    expect(h.node!.saved).toEqual([]);
    expect(y.node!.backward).toBeNull();
    // x, y and x.grad remain.
    expect(inUse()).toBe(base + 3);
  });

  it('gradients accumulate across backward calls; zeroGrad clears', async () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    x.mul(2).sum().backward();
    x.mul(x).sum().backward();
    expect(await vals(x.grad)).toEqual([4, 6]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    x.sum().backward();
    expect(await vals(x.grad)).toEqual([1, 1]);
  });

  it('backward with an explicit gradient; checks of the seed', async () => {
    const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
    const y = x.mul(3);
    y.backward(tensor([[1, 0], [2, 1]]));
    expect(await vals(x.grad)).toEqual([3, 0, 6, 3]);
    const z = x.mul(2);
    expect(() => z.backward()).toThrow(/scalar/);
    expect(() => z.backward(ones([4]))).toThrow(ShapeError);
    expect(() => tensor([1, 2]).sum().backward()).toThrow(/does not require grad/);
  });

  it('backward from a leaf, and leaf gradients are contiguous and owned', async () => {
    const x = tensor([5], [], { requiresGrad: true });
    x.backward();
    expect(await vals(x.grad)).toEqual([1]);
    const w = tensor([1, 2, 3], [3, 1], { requiresGrad: true });
    w.expand([3, 4]).sum().backward();
    expect(w.grad!.isContiguous).toBe(true);
    expect(await vals(w.grad)).toEqual([4, 4, 4]);
  });

  it('noGrad records nothing, nests, and handles async functions', async () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return noGrad(() => x.mul(2)).add(1);
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    await noGrad(async () => {
      await Promise.resolve();
      expect(isGradEnabled()).toBe(false);
    });
    expect(isGradEnabled()).toBe(true);
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
  });

  it('detach cuts the graph and shares storage', async () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const d = x.mul(2).detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.node).toBeNull();
    x.mul(d).sum().backward();
    expect(await vals(x.grad)).toEqual([2, 4, 6]);
    const s = x.detach();
    expect(s.storage).toBe(x.storage);
  });

  it('tidy disposes intermediates while a pending backward still works', async () => {
    const base = inUse();
    const x = tensor([0.5, 1.5], undefined, { requiresGrad: true });
    const w = tensor([2, -1], undefined, { requiresGrad: true });
    const loss = tidy(() => {
      const h = x.mul(w).exp();
      const z = h.add(h.mul(w));
      return z.sum();
    });
    loss.backward();
    // d/dx = e^{xw} w (1 + w), d/dw = e^{xw} x (1 + w) + e^{xw}
    const gx = await vals(x.grad);
    const gw = await vals(w.grad);
    [0.5, 1.5].forEach((xv, i) => {
      const wv = [2, -1][i];
      const e = Math.exp(xv * wv);
      expect(gx[i]).toBeCloseTo(e * wv * (1 + wv), 4);
      expect(gw[i]).toBeCloseTo(e * xv * (1 + wv) + e, 4);
    });
    loss.dispose();
    x.dispose();
    w.dispose();
    expect(inUse()).toBe(base);
  });

  it('a graph never backpropagated is released when its root is disposed', async () => {
    const base = inUse();
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const loss = tidy(() => x.exp().mul(x).softmax().sum());
    const pending = inUse();
    expect(pending).toBeGreaterThan(base + 2); // saved activations held by the graph
    loss.dispose();
    x.dispose();
    expect(inUse()).toBe(base);
    // The same inside a tidy (evaluation without noGrad).
    const y = tensor([1, 2, 3], undefined, { requiresGrad: true });
    tidy(() => {
      y.exp().mul(y).sum();
    });
    y.dispose();
    expect(inUse()).toBe(base);
  });

  it('a retained graph is released when its root is disposed', async () => {
    const base = inUse();
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true });
    const loss = tidy(() => x.exp().mul(x).sum());
    loss.backward(undefined, { retainGraph: true });
    loss.dispose();
    x.dispose();
    expect(inUse()).toBe(base);
  });

  it('tidy keeps returned tensors (nested, arrays, objects) and leaves outside tensors alone', async () => {
    const base = inUse();
    const outside = ones([2]);
    const r = tidy(() => {
      const a = ones([2]).add(1);
      const inner = tidy(() => ({ b: a.mul(2), keepOut: outside }));
      zeros([3]);
      return [inner.b, { c: a.add(outside) }] as const;
    });
    expect(await vals(r[0])).toEqual([4, 4]);
    expect(await vals(r[1].c)).toEqual([3, 3]);
    expect(outside.isDisposed).toBe(false);
    tidy(() => tidy(() => outside)); // a tensor made outside is never adopted by a scope
    expect(outside.isDisposed).toBe(false);
    r[0].dispose();
    r[1].c.dispose();
    outside.dispose();
    expect(inUse()).toBe(base);
  });

  it('keep() survives tidy; scope() is the async tidy', async () => {
    const base = inUse();
    let kept!: Tensor;
    tidy(() => {
      kept = keep(ones([2]).mul(3));
      ones([5]);
    });
    expect(await vals(kept)).toEqual([3, 3]);
    kept.dispose();
    const v = await scope(async () => {
      const t = ones([3]).add(1);
      const s = sum(t);
      return (await s.data())[0];
    });
    expect(v).toBe(6);
    expect(inUse()).toBe(base);
    expect(() => tidy(() => Promise.resolve(1) as unknown as number)).toThrow(/synchronous/);
  });

  it('using disposes at the end of the block', () => {
    let t: Tensor;
    {
      using u = ones([2]);
      t = u;
      expect(t.isDisposed).toBe(false);
    }
    expect(t.isDisposed).toBe(true);
  });

  it('int32 tensors cannot require grad', () => {
    expect(() => tensor(new Int32Array([1, 2])).requiresGrad_()).toThrow(GpuError);
  });

  it('a deep chain backpropagates without recursion limits', async () => {
    const x = tensor([1], [], { requiresGrad: true });
    const y = tidy(() => {
      let h = x;
      for (let i = 0; i < 1000; i++) h = h.mul(1.0001);
      return h;
    });
    y.backward();
    expect((await vals(x.grad))[0]).toBeCloseTo(Math.pow(1.0001, 1000), 3);
    y.dispose();
  });

  it("linear's weight gradient comes out contiguous, with no copy of a transposed result", async () => {
    manualSeed(7);
    const x = randn([6, 5]);
    const w1 = randn([4, 5]).requiresGrad_();
    const w2 = tensor(await w1.data(), [4, 5], { requiresGrad: true });
    const rt = gpuRuntime()!;
    // The kernels each backward runs, by name.
    const kernels = (f: () => void) => {
      const names: string[] = [];
      const dispatch = rt.dispatch.bind(rt);
      rt.dispatch = (kernel, ...rest) => {
        names.push(kernel.name);
        dispatch(kernel, ...rest);
      };
      try {
        f();
      } finally {
        rt.dispatch = dispatch;
      }
      return names;
    };
    const y1 = linear(x, w1).sum();
    const y2 = matmul(x, w2.transpose()).sum(); // matmul's generic rule: dW = (xᵀ·g)ᵀ, then a copy
    const viaLinear = kernels(() => y1.backward());
    const viaMatmul = kernels(() => y2.backward());
    console.log(viaLinear, viaMatmul);
    expect(w1.grad!.isContiguous).toBe(true);
    const [g1, g2] = [await vals(w1.grad), await vals(w2.grad)];
    g1.forEach((v, i) => expect(v).toBeCloseTo(g2[i], 5));
  });
});
