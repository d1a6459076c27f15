// Matmul parity: every layout the kernels support, on every kernel path this adapter has, against the
// CPU reference in float64. Paths: 'tiled' (the GPU kernel) and 'simd' (the CPU-SIMD kernel; on an
// adapter without it, forcing 'simd' plans the tiled kernel, so the cases still run).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  tensor, matmul, linear, transpose, expand, slice, reshape, gpuRuntime, sum, mul, type Tensor,
} from '../../src/index.js';
import { wrap } from '../../src/autograd/ops/util.js';
import { configureMatmul, cpuSimdLanes, describePlan, planMatmul, rowBlockRatesOf, setRowBlockRates, type MatmulConfig } from '../../src/backend/webgpu/matmul.js';

// ---- data -----------------------------------------------------------------------------------

let seed = 12345;
function rand(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    out[i] = (seed / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** The same data on the device (float32) and on the CPU reference (float64). */
function pair(shape: number[], requiresGrad = false): [Tensor, Tensor] {
  const data = rand(shape.reduce((a, b) => a * b, 1));
  return [
    tensor(data, shape, { requiresGrad }),
    tensor(Float64Array.from(data), shape, { backend: 'cpu', dtype: 'float64', requiresGrad }),
  ];
}

async function expectClose(gpu: Tensor, ref: Tensor, K: number, what: string): Promise<void> {
  expect(gpu.shape, `${what}: shape`).toEqual(ref.shape);
  const g = await gpu.data();
  const r = await ref.data();
  const tol = 2e-6 * Math.max(K, 1) + 2e-5;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < r.length; i++) {
    const e = Math.abs(g[i] - r[i]) / (1 + Math.abs(r[i]) * 0.01);
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  if (!(worst <= tol)) {
    throw new Error(`${what}: element ${at} is ${g[at]}, reference ${r[at]} (error ${worst.toExponential(2)} > ${tol.toExponential(2)})`);
  }
}

// ---- paths ----------------------------------------------------------------------------------

const rt = gpuRuntime;
const hasSimd = () => (rt() ? cpuSimdLanes(rt()!) > 0 : false);
const PATHS: [string, Partial<MatmulConfig>][] = [
  ['tiled', { path: 'tiled' }],
  ['simd', { path: 'simd' }],
  ['simd tm8 directB', { path: 'simd', tm: 8, directB: true }],
  ['simd tm16 packB', { path: 'simd', tm: 16, directB: false }],
];

afterEach(() => {
  configureMatmul(null);
});
afterAll(() => {
  configureMatmul(null);
});

type Case = { name: string; M: number; K: number; N: number; make: () => { a: [Tensor, Tensor]; b: [Tensor, Tensor] } };

/** a [..., M, K] and b [..., K, N] in the given layouts (transposed operands are strided views). */
function layout(M: number, K: number, N: number, opts: { ta?: boolean; tb?: boolean; aBatch?: number[]; bBatch?: number[] } = {}) {
  return () => {
    const aShape = opts.ta ? [...(opts.aBatch ?? []), K, M] : [...(opts.aBatch ?? []), M, K];
    const bShape = opts.tb ? [...(opts.bBatch ?? []), N, K] : [...(opts.bBatch ?? []), K, N];
    const [ag, ac] = pair(aShape);
    const [bg, bc] = pair(bShape);
    const a: [Tensor, Tensor] = opts.ta ? [transpose(ag), transpose(ac)] : [ag, ac];
    const b: [Tensor, Tensor] = opts.tb ? [transpose(bg), transpose(bc)] : [bg, bc];
    return { a, b };
  };
}

const CASES: Case[] = [
  { name: 'plain 64x64x64', M: 64, K: 64, N: 64, make: layout(64, 64, 64) },
  { name: 'plain 65x63x66', M: 65, K: 63, N: 66, make: layout(65, 63, 66) },
  { name: 'transposed A', M: 40, K: 36, N: 44, make: layout(40, 36, 44, { ta: true }) },
  { name: 'transposed B', M: 40, K: 36, N: 44, make: layout(40, 36, 44, { tb: true }) },
  { name: 'both transposed', M: 33, K: 17, N: 47, make: layout(33, 17, 47, { ta: true, tb: true }) },
  { name: 'batched', M: 20, K: 24, N: 28, make: layout(20, 24, 28, { aBatch: [3], bBatch: [3] }) },
  { name: 'batched, B broadcast', M: 21, K: 16, N: 36, make: layout(21, 16, 36, { aBatch: [2, 3], bBatch: [] }) },
  { name: 'batched, A broadcast', M: 12, K: 20, N: 40, make: layout(12, 20, 40, { aBatch: [], bBatch: [4] }) },
  { name: 'batched, transposed B', M: 9, K: 30, N: 13, make: layout(9, 30, 13, { aBatch: [2], bBatch: [2], tb: true }) },
  { name: 'batched, transposed A', M: 16, K: 8, N: 32, make: layout(16, 8, 32, { aBatch: [3], bBatch: [3], ta: true }) },
  {
    name: 'batch dims broadcast against each other',
    M: 10,
    K: 12,
    N: 16,
    make: () => {
      const [ag, ac] = pair([2, 1, 10, 12]);
      const [bg, bc] = pair([1, 3, 12, 16]);
      return { a: [ag, ac], b: [bg, bc] };
    },
  },
  {
    name: 'expanded (stride-0) batch on B with odd offset slices',
    M: 11,
    K: 13,
    N: 12,
    make: () => {
      const [ag, ac] = pair([3, 12, 13]);
      const [bg, bc] = pair([14, 12]);
      const a: [Tensor, Tensor] = [slice(ag, 1, 1), slice(ac, 1, 1)];
      const b1: [Tensor, Tensor] = [slice(bg, 0, 1, 14), slice(bc, 0, 1, 14)];
      return { a, b: [expand(b1[0], [3, 13, 12]), expand(b1[1], [3, 13, 12])] };
    },
  },
  {
    name: 'column slice of B (row stride > N, offset)',
    M: 24,
    K: 16,
    N: 20,
    make: () => {
      const [ag, ac] = pair([24, 16]);
      const [bg, bc] = pair([16, 28]);
      return { a: [ag, ac], b: [slice(bg, 1, 4, 24), slice(bc, 1, 4, 24)] };
    },
  },
];

describe('matmul parity with the CPU reference', () => {
  for (const [pathName, cfg] of PATHS) {
    describe(pathName, () => {
      for (const c of CASES) {
        it(c.name, async () => {
          configureMatmul(cfg);
          const { a, b } = c.make();
          await expectClose(matmul(a[0], b[0]), matmul(a[1], b[1]), c.K, `${pathName} ${c.name}`);
        });
      }
    });
  }
});

describe('odd sizes', () => {
  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [1, 7, 1],
    [7, 1, 7],
    [1, 1023, 65],
    [63, 65, 7],
    [65, 63, 1],
    [103, 1023, 65],
    [7, 103, 1023],
    [1023, 7, 63],
  ];
  for (const [pathName, cfg] of PATHS.slice(0, 2)) {
    for (const [M, K, N] of sizes) {
      it(`${pathName} ${M}x${K} @ ${K}x${N}`, async () => {
        configureMatmul(cfg);
        const { a, b } = layout(M, K, N)();
        await expectClose(matmul(a[0], b[0]), matmul(a[1], b[1]), K, `${pathName} ${M}x${K}x${N}`);
      });
    }
  }
});

describe('edge cases', () => {
  for (const [pathName, cfg] of PATHS.slice(0, 2)) {
    it(`${pathName}: K = 0 gives zeros (and the bias)`, async () => {
      configureMatmul(cfg);
      const a = tensor(new Float32Array(0), [5, 0]);
      const b = tensor(new Float32Array(0), [0, 6]);
      expect(Array.from(await matmul(a, b).data())).toEqual(new Array(30).fill(0));
      // The fused epilogue still runs (through the backend primitive: linear() itself cannot
      // reshape a [5, 0] input, see reshape's -1 inference).
      const bias = tensor([1, -2, 3, -4, 5, -6]);
      const y = wrap(a.backend.matmul(a, b, bias, 'relu'), [5, 6], 'float32');
      expect(Array.from(await y.data())).toEqual(Array.from({ length: 30 }, (_, i) => Math.max([1, -2, 3, -4, 5, -6][i % 6], 0)));
    });
    it(`${pathName}: M = 0 and N = 0 give empty results`, async () => {
      configureMatmul(cfg);
      const y = matmul(tensor(new Float32Array(0), [0, 4]), tensor(rand(12), [4, 3]));
      expect(y.shape).toEqual([0, 3]);
      expect((await y.data()).length).toBe(0);
      const z = matmul(tensor(rand(8), [2, 4]), tensor(new Float32Array(0), [4, 0]));
      expect(z.shape).toEqual([2, 0]);
      const e = matmul(tensor(new Float32Array(0), [0, 2, 4]), tensor(rand(12), [4, 3]));
      expect(e.shape).toEqual([0, 2, 3]);
    });
    it(`${pathName}: vector operands (1-D promotion)`, async () => {
      configureMatmul(cfg);
      const [vg, vc] = pair([37]);
      const [mg, mc] = pair([37, 41]);
      await expectClose(matmul(vg, mg), matmul(vc, mc), 37, 'v @ M');
      const [ng, nc] = pair([41, 37]);
      await expectClose(matmul(ng, vg), matmul(nc, vc), 37, 'M @ v');
    });
  }
});

describe('fused linear epilogue (bias + activation)', () => {
  for (const [pathName, cfg] of PATHS) {
    for (const act of ['none', 'relu', 'gelu'] as const) {
      it(`${pathName}: linear ${act}`, async () => {
        configureMatmul(cfg);
        const [xg, xc] = pair([2, 19, 36]);
        const [wg, wc] = pair([44, 36]);
        const [bg, bc] = pair([44]);
        await expectClose(linear(xg, wg, bg, act), linear(xc, wc, bc, act), 36, `${pathName} linear ${act}`);
        await expectClose(linear(xg, wg, null, act), linear(xc, wc, null, act), 36, `${pathName} linear ${act} (no bias)`);
      });
    }
    it(`${pathName}: strided bias (a slice with stride 2)`, async () => {
      configureMatmul(cfg);
      const [xg, xc] = pair([9, 12]);
      const [wg, wc] = pair([10, 12]);
      const [bg, bc] = pair([10, 2]);
      const b0: [Tensor, Tensor] = [reshape(slice(bg, 1, 1, 2), [10]), reshape(slice(bc, 1, 1, 2), [10])];
      await expectClose(linear(xg, wg, b0[0], 'relu'), linear(xc, wc, b0[1], 'relu'), 12, `${pathName} strided bias`);
    });
  }
});

describe('gradients (backward uses transposed views)', () => {
  for (const [pathName, cfg] of PATHS.slice(0, 2)) {
    it(`${pathName}: matmul and linear backward`, async () => {
      configureMatmul(cfg);
      const [ag, ac] = pair([3, 17, 29], true);
      const [bg, bc] = pair([29, 23], true);
      const [wg, wc] = pair([11, 23], true);
      const [biasg, biasc] = pair([11], true);
      const [cg, cc] = pair([3, 17, 11]);
      const loss = (a: Tensor, b: Tensor, w: Tensor, bias: Tensor, c: Tensor, act: 'relu' | 'gelu') =>
        sum(mul(linear(matmul(a, b), w, bias, act), c));
      for (const act of ['relu', 'gelu'] as const) {
        for (const t of [ag, bg, wg, biasg, ac, bc, wc, biasc]) t.zeroGrad();
        loss(ag, bg, wg, biasg, cg, act).backward();
        loss(ac, bc, wc, biasc, cc, act).backward();
        await expectClose(ag.grad!, ac.grad!, 29 * 11, `${pathName} ${act} dA`);
        await expectClose(bg.grad!, bc.grad!, 51 * 11, `${pathName} ${act} dB`);
        await expectClose(wg.grad!, wc.grad!, 51, `${pathName} ${act} dW`);
        await expectClose(biasg.grad!, biasc.grad!, 51, `${pathName} ${act} dbias`);
      }
    });
  }
});

describe('kernel planning', () => {
  it('auto picks the SIMD kernel on a CPU adapter (smallest block for tiny products), else the tiled one', () => {
    const r = rt();
    if (!r) return;
    // The built-in row-block rates (an adapter's measured ones may prefer another block: test/matmul/tune.test.ts).
    const tuned = rowBlockRatesOf(r, cpuSimdLanes(r) || 8);
    setRowBlockRates(r, null);
    const big = planMatmul(r, tensor(rand(256 * 256), [256, 256]), tensor(rand(256 * 256), [256, 256]));
    const tiny = planMatmul(r, tensor(rand(16), [4, 4]), tensor(rand(16), [4, 4]));
    setRowBlockRates(r, tuned);
    expect(tiny.path).toBe(hasSimd() ? 'simd' : 'tiled');
    expect(big.path).toBe(hasSimd() ? 'simd' : 'tiled');
    if (tiny.path === 'simd' && big.path === 'simd') {
      expect(tiny.TM).toBe(tiny.S);
      expect(big.TM).toBe(4 * big.S);
    }
    expect(describePlan(big)).toMatch(/^(simd|tiled)/);
  });
  it('vec4 loads exactly when the inner dimension is contiguous and divisible by 4', () => {
    const r = rt();
    if (!r) return;
    configureMatmul({ path: 'tiled' });
    const a = tensor(rand(64), [8, 8]);
    const p1 = planMatmul(r, a, a);
    expect(p1).toMatchObject({ path: 'tiled', vecA: true, vecB: true });
    const p2 = planMatmul(r, transpose(a), transpose(a));
    expect(p2).toMatchObject({ vecA: false, vecB: false });
    const odd = tensor(rand(7 * 7), [7, 7]);
    expect(planMatmul(r, odd, odd)).toMatchObject({ vecA: false, vecB: false });
  });
  it('folds the batch into the rows when B is shared (32 × 103×1024 @ 1024×1024)', () => {
    const r = rt();
    if (!r || !hasSimd()) return;
    const a = expand(tensor(rand(103 * 64), [1, 103, 64]), [32, 103, 64]);
    const b = tensor(rand(64 * 64), [64, 64]);
    const p = planMatmul(r, a, expand(b, [32, 64, 64]));
    expect(p).toMatchObject({ path: 'simd', flat: true, rows: 32 * 103, Z: 1 });
  });
});
