import { describe, expect, it } from 'vitest';
import { manualSeed, tensor, type Tensor } from '../../src/index.js';
import { Module, ModuleList, StateDictError } from '../../src/nn/module.js';
import { Linear, LayerNorm, Dropout, GELU, MLP, Sequential, TemporalConv1d } from '../../src/nn/layers.js';
import { GraphConv, JOINT_LAYOUTS, normalizedAdjacency, resolveLayout } from '../../src/nn/graph.js';
import { withParamOptions, kaimingUniform, fans } from '../../src/nn/init.js';
import { simplexEtf, EtfHead } from '../../src/models/heads.js';
import { segmentPoolMatrix } from '../../src/models/blocks.js';
import { UIPRMD_EDGES } from '../../src/data/uiprmd.js';

const cpu = <T>(fn: () => T) => withParamOptions({ backend: 'cpu' }, fn);

class Toy extends Module {
  a: Linear;
  scale: Tensor;
  list: ModuleList<Linear>;
  constructor() {
    super();
    this.a = this.registerModule('a', new Linear(3, 4));
    this.scale = this.registerParameter('scale', tensor([1, 2], [2], { backend: 'cpu' }));
    this.registerBuffer('fixed', tensor([7], [1], { backend: 'cpu' }));
    this.registerBuffer('scratch', tensor([0], [1], { backend: 'cpu' }), false);
    this.list = this.registerModule('list', new ModuleList([new Linear(4, 2, { bias: false }), new Linear(2, 2)]));
  }
  forward(x: Tensor): Tensor {
    return this.list.at(1).forward(this.list.at(0).forward(this.a.forward(x)));
  }
}

describe('Module', () => {
  it('registration, names, counts, modes, freezing', () => {
    const m = cpu(() => new Toy());
    expect(m.namedParameters().map(([n]) => n)).toEqual(['scale', 'a.weight', 'a.bias', 'list.0.weight', 'list.1.weight', 'list.1.bias']);
    expect(m.paramCount()).toBe(2 + 12 + 4 + 8 + 4 + 2);
    expect(Object.keys(m.stateDict())).toEqual([...m.namedParameters().map(([n]) => n), 'fixed']);
    expect(m.children().length).toBe(2);
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.train();
    expect(m.list.at(0).training).toBe(true);
    m.list.freeze();
    expect(m.paramCount({ trainableOnly: true })).toBe(2 + 12 + 4);
    expect(m.list.frozen).toBe(true);
    m.unfreeze();
    expect(m.trainableParameters().length).toBe(6);
    expect(() => m.registerParameter('a', tensor([1], [1], { backend: 'cpu' }))).toThrow(/already/);
    expect(() => m.registerParameter('x.y', tensor([1], [1], { backend: 'cpu' }))).toThrow(/invalid name/);
  });

  it('stateDict round trip; strict loading lists every difference; to()', async () => {
    manualSeed(1);
    const m = cpu(() => new Toy());
    manualSeed(2);
    const n = cpu(() => new Toy());
    const w = n.a.weight;
    await n.loadStateDict(m.stateDict());
    expect(n.a.weight).toBe(w); // written in place
    expect(Array.from(await n.a.weight.data())).toEqual(Array.from(await m.a.weight.data()));
    const sd: Record<string, Tensor | { data: number[]; shape: number[] }> = { ...m.stateDict(), extra: { data: [1], shape: [1] }, 'a.bias': { data: [1, 2, 3], shape: [3] } };
    delete sd['list.1.bias'];
    const err = await n.loadStateDict(sd).catch((e) => e);
    expect(err).toBeInstanceOf(StateDictError);
    expect(err.message).toMatch(/shape differs: a.bias: model \[4\], file \[3\]/);
    expect(err.message).toMatch(/missing from file: list.1.bias/);
    expect(err.message).toMatch(/not in model: extra/);
    const r = await n.loadStateDict(sd, { strict: false });
    expect(r.loaded.length).toBe(5);
    // to(): float64 copies, fields re-pointed
    await n.to('cpu', 'float64');
    expect(n.a.weight.dtype).toBe('float64');
    expect(n.getParameter('scale')).toBe(n.scale);
    const y = n.forward(tensor(Float64Array.from([1, 2, 3]), [1, 3], { backend: 'cpu' }));
    expect(y.dtype).toBe('float64');
  });
});

describe('layers', () => {
  it('Linear: PyTorch default init bounds, shapes, FLOPs', async () => {
    manualSeed(3);
    const l = cpu(() => new Linear(64, 32));
    const w = await l.weight.data();
    const b = await l.bias!.data();
    const bound = 1 / Math.sqrt(64);
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(bound * 0.9);
    expect(Math.max(...Array.from(b, Math.abs))).toBeLessThanOrEqual(bound);
    // uniform: variance bound²/3
    const v = Array.from(w).reduce((s, x) => s + x * x, 0) / w.length;
    expect(v).toBeCloseTo((bound * bound) / 3, 3);
    expect(l.forward(tensor(new Float32Array(5 * 64), [5, 64], { backend: 'cpu' })).shape).toEqual([5, 32]);
    expect(l.flops([5, 64])).toBe(2 * 5 * 64 * 32 + 5 * 32);
    expect(fans([8, 4, 3])).toEqual({ fanIn: 12, fanOut: 24 });
    const k = await cpu(() => kaimingUniform([100, 10], 0)).data();
    expect(Math.max(...Array.from(k, Math.abs))).toBeLessThanOrEqual(Math.sqrt(2) * Math.sqrt(3 / 10));
  });

  it('LayerNorm, Dropout (train/eval), GELU, MLP, Sequential', async () => {
    manualSeed(4);
    const x = tensor([[1, 2, 3, 4], [2, 2, 2, 6]], undefined, { backend: 'cpu' });
    const ln = cpu(() => new LayerNorm(4));
    const y = await ln.forward(x).data();
    expect(y[0]).toBeCloseTo(-1.3416, 3);
    const d = new Dropout(0.5);
    const z = await d.forward(tensor(new Float32Array(1000).fill(1), [1000], { backend: 'cpu' })).data();
    const kept = z.filter((v) => v !== 0);
    expect(kept.every((v) => v === 2)).toBe(true);
    expect(Math.abs(kept.length - 500)).toBeLessThan(80);
    d.eval();
    expect(Array.from(await d.forward(x).data())).toEqual(Array.from(await x.data()));
    expect((await new GELU().forward(tensor([1], [1], { backend: 'cpu' })).data())[0]).toBeCloseTo(0.8413, 4);
    const mlp = cpu(() => new MLP([4, 8, 3], { dropout: 0.1, layerNorm: true }));
    expect(mlp.forward(x).shape).toEqual([2, 3]);
    expect(mlp.paramCount()).toBe(4 * 8 + 8 + 16 + 8 * 3 + 3);
    const seq = cpu(() => new Sequential(new Linear(4, 5), new GELU(), new Linear(5, 2)));
    expect(seq.forward(x).shape).toEqual([2, 2]);
    expect(seq.flops([2, 4])).toBe(2 * 2 * 4 * 5 + 10 + 2 * 2 * 5 * 2 + 4);
  });

  it('TemporalConv1d equals a direct zero-padded convolution', async () => {
    manualSeed(5);
    const conv = cpu(() => new TemporalConv1d(3, 2, 3));
    const x = tensor(Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 3], { backend: 'cpu' });
    const y = await conv.forward(x).data();
    const W = await conv.weight.data(); // [Cout, k·C], tap-major
    const b = await conv.bias!.data();
    const X = await x.data();
    for (let n = 0; n < 2; n++)
      for (let t = 0; t < 5; t++)
        for (let o = 0; o < 2; o++) {
          let s = b[o];
          for (let k = 0; k < 3; k++) {
            const tt = t + k - 1;
            if (tt < 0 || tt >= 5) continue;
            for (let c = 0; c < 3; c++) s += W[o * 9 + k * 3 + c] * X[(n * 5 + tt) * 3 + c];
          }
          expect(y[(n * 5 + t) * 2 + o]).toBeCloseTo(s, 5);
        }
  });

  it('segment pooling matrix: clip means, identity, nearest upsampling', () => {
    const P = segmentPoolMatrix(2, 4);
    expect(Array.from(P)).toEqual([0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5]);
    expect(Array.from(segmentPoolMatrix(3, 3))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(segmentPoolMatrix(3, 2))).toEqual([1, 0, 1, 0, 0, 1]);
  });
});

describe('graph convolution and joint layouts', () => {
  it('normalized adjacency D^-1/2 (A+I) D^-1/2', () => {
    // path 0-1-2: degrees (with self loops) 2, 3, 2
    const A = normalizedAdjacency(3, [[0, 1], [1, 2]]);
    expect(A[0 * 3 + 0]).toBeCloseTo(1 / 2, 12);
    expect(A[0 * 3 + 1]).toBeCloseTo(1 / Math.sqrt(6), 12);
    expect(A[1 * 3 + 1]).toBeCloseTo(1 / 3, 12);
    expect(A[0 * 3 + 2]).toBe(0);
    expect(A[2 * 3 + 1]).toBeCloseTo(A[1 * 3 + 2], 15);
  });

  it('built-in layouts: sizes, connected, trees where they should be', () => {
    const connected = (J: number, edges: readonly (readonly [number, number])[]) => {
      const adj = Array.from({ length: J }, () => [] as number[]);
      for (const [a, b] of edges) {
        adj[a].push(b);
        adj[b].push(a);
      }
      const seen = new Set([0]);
      const st = [0];
      while (st.length) for (const n of adj[st.pop()!]) if (!seen.has(n)) (seen.add(n), st.push(n));
      return seen.size === J;
    };
    const expected: Record<string, [number, number]> = { coco17: [17, 19], halpe26: [26, 25], mmjdm26: [26, 25], kinect25: [25, 24], uiprmd22: [22, 21] };
    for (const [name, [J, E]] of Object.entries(expected)) {
      const l = JOINT_LAYOUTS[name as keyof typeof JOINT_LAYOUTS];
      expect(l.joints, name).toBe(J);
      expect(l.edges.length, name).toBe(E);
      expect(connected(J, l.edges), name).toBe(true);
    }
    expect(JOINT_LAYOUTS.uiprmd22.edges).toBe(UIPRMD_EDGES);
    expect(() => resolveLayout({ joints: 3, edges: [[0, 3]] })).toThrow(/out of range/);
    expect(() => resolveLayout('nope' as never)).toThrow(/unknown joint layout/);
  });

  it('GraphConv: Â X W + b, both layouts agree', async () => {
    manualSeed(6);
    const g = cpu(() => new GraphConv(2, 3, { joints: 3, edges: [[0, 1], [1, 2]] }));
    const x = tensor(Float32Array.from({ length: 2 * 4 * 3 * 2 }, (_, i) => Math.cos(i)), [2, 4, 3, 2], { backend: 'cpu' });
    const y = await g.forward(x).data(); // [B, T, J, C]
    const yj = await g.forwardJointMajor(x.permute([0, 2, 1, 3]).contiguous()).permute([0, 2, 1, 3]).contiguous().data();
    for (let i = 0; i < y.length; i++) expect(yj[i]).toBeCloseTo(y[i], 5);
    const A = normalizedAdjacency(3, [[0, 1], [1, 2]]);
    const W = await g.weight.data();
    const b = await g.bias!.data();
    const X = await x.data();
    // check one output: batch 1, frame 2, joint 1, channel 2
    let s = b[2];
    for (let j = 0; j < 3; j++) for (let c = 0; c < 2; c++) s += A[1 * 3 + j] * W[2 * 2 + c] * X[((1 * 4 + 2) * 3 + j) * 2 + c];
    expect(y[((1 * 4 + 2) * 3 + 1) * 3 + 2]).toBeCloseTo(s, 5);
  });
});

describe('ETF head geometry', () => {
  it('simplex ETF: unit norm, pairwise cosine -1/(G-1), centered', () => {
    for (const [G, D] of [[2, 2], [4, 8], [6, 512], [10, 10]]) {
      const M = simplexEtf(G, D, 3);
      for (let i = 0; i < G; i++) {
        for (let j = 0; j < G; j++) {
          let dot = 0;
          for (let k = 0; k < D; k++) dot += M[i * D + k] * M[j * D + k];
          expect(dot, `G=${G} (${i},${j})`).toBeCloseTo(i === j ? 1 : -1 / (G - 1), 10);
        }
      }
      for (let k = 0; k < D; k++) {
        let s = 0;
        for (let i = 0; i < G; i++) s += M[i * D + k];
        expect(Math.abs(s)).toBeLessThan(1e-10);
      }
    }
    expect(() => simplexEtf(5, 4)).toThrow();
  });

  it('nearest prototype = highest logit; prototypes are a fixed buffer', async () => {
    const head = cpu(() => new EtfHead(4, 6, 1, 0));
    expect(head.parameters().length).toBe(0);
    expect(head.buffers().length).toBe(1);
    const P = await head.prototypes.data();
    // h = 2·g_2 (any scale): logits = g_j·g_2 -> argmax 2, logits 1 and -1/3
    const h = tensor(Float32Array.from(P.subarray(12, 18), (v) => 2 * v), [1, 6], { backend: 'cpu' });
    const logits = await head.forward(h).data();
    expect(logits[2]).toBeCloseTo(1, 5);
    expect(logits[0]).toBeCloseTo(-1 / 3, 5);
    // logit scale s: logits = s·(g_j·ĥ), same prototypes for the same seed
    const scaled = await cpu(() => new EtfHead(4, 6, 5, 0)).forward(h).data();
    Array.from(logits).forEach((v, j) => expect(scaled[j]).toBeCloseTo(5 * v, 5));
  });
});
