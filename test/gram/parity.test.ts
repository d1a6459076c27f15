// The WebGPU kernels against the float64 CPU oracle (full arrays), and both against the plain
// composition of engine ops (normalize -> matmul Grams -> Laplace det -> crossEntropy both ways).
import { describe, expect, it } from 'vitest';
import { composedGramContrastiveLoss, composedGramVolumeMatrix, gramContrastiveLoss, gramVolumeMatrix } from '../../src/alignment/index.js';
import { permute, slice, tensor, tidy } from '../../src/index.js';
import { expectClose, gramInputs, leaf, mulberry32, type Where } from './helpers.js';

async function runVolume(where: Where, a: Float64Array, o: Float64Array, B: number, K: number, D: number, gV: Float64Array) {
  const A = leaf(a, [B, D], where);
  const O = leaf(o, [B, K - 1, D], where);
  const V = gramVolumeMatrix(A, O);
  V.backward(leaf(gV, [B, B], where, false));
  const r = { V: await V.data(), gA: await A.grad!.data(), gO: await O.grad!.data() };
  for (const t of [A, O, V]) t.dispose();
  return r;
}

async function runLoss(where: Where, a: Float64Array, o: Float64Array, B: number, K: number, D: number, opts: object, composed = false) {
  const A = leaf(a, [B, D], where);
  const O = leaf(o, [B, K - 1, D], where);
  const L = composed ? composedGramContrastiveLoss(A, O, opts) : gramContrastiveLoss(A, O, opts);
  L.backward();
  const r = { L: await L.item(), gA: await A.grad!.data(), gO: await O.grad!.data() };
  for (const t of [A, O, L]) t.dispose();
  return r;
}

function randomArray(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
}

describe('WebGPU kernels vs the float64 CPU oracle', () => {
  const shapes: [number, number, number][] = [
    [1, 2, 5],
    [3, 2, 1],
    [7, 3, 13],
    [17, 5, 31],
    [33, 4, 130],
    [9, 8, 33],
    [130, 3, 67],
  ];
  for (const [B, K, D] of shapes) {
    it(`gramVolumeMatrix forward + backward with a random upstream gradient, B=${B} K=${K} D=${D}`, async () => {
      const { a, o } = gramInputs(100 + B + K, B, K, D, 0.8);
      const gV = randomArray(B * B, 7 + B);
      const cpu = await runVolume('cpu64', a, o, B, K, D, gV);
      const gpu = await runVolume('gpu', a, o, B, K, D, gV);
      expectClose(gpu.V, cpu.V, 1e-4, 'V');
      expectClose(gpu.gA, cpu.gA, 1e-3, 'd anchor');
      expectClose(gpu.gO, cpu.gO, 1e-3, 'd others');
    });
  }
  for (const [B, K, D, opts] of [
    [40, 3, 100, { tau: 0.1 }],
    [20, 5, 24, { tau: 0.05, labelSmoothing: 0.1, reduction: 'mean' }],
    [130, 2, 9, { tau: 0.2, labelSmoothing: 0.02 }],
  ] as [number, number, number, object][]) {
    it(`fused gramContrastiveLoss B=${B} K=${K} D=${D} ${JSON.stringify(opts)}`, async () => {
      const { a, o } = gramInputs(300 + B, B, K, D, 0.6);
      const cpu = await runLoss('cpu64', a, o, B, K, D, opts);
      const gpu = await runLoss('gpu', a, o, B, K, D, opts);
      expect(Math.abs(gpu.L - cpu.L) / Math.abs(cpu.L)).toBeLessThan(1e-4);
      expectClose(gpu.gA, cpu.gA, 1e-3, 'd anchor');
      expectClose(gpu.gO, cpu.gO, 1e-3, 'd others');
    });
  }

  it('reads strided and offset inputs (a permuted others view, a sliced anchor)', async () => {
    const B = 12, K = 4, D = 10;
    const { a, o } = gramInputs(5, B, K, D, 0.7);
    const results: Record<string, Float64Array | Float32Array> = {};
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      // anchor as rows 2.. of a bigger tensor; others stored [K−1, B, D] and permuted to [B, K−1, D]
      const big = new Float64Array((B + 2) * D);
      big.set(a, 2 * D);
      const oT = new Float64Array(B * (K - 1) * D);
      for (let i = 0; i < B; i++) for (let k = 0; k < K - 1; k++) for (let d = 0; d < D; d++) oT[(k * B + i) * D + d] = o[(i * (K - 1) + k) * D + d];
      const V = tidy(() => gramVolumeMatrix(slice(leaf(big, [B + 2, D], where, false), 0, 2), permute(leaf(oT, [K - 1, B, D], where, false), [1, 0, 2])));
      const Vref = tidy(() => gramVolumeMatrix(leaf(a, [B, D], where, false), leaf(o, [B, K - 1, D], where, false)));
      expectClose(await V.data(), await Vref.data(), 1e-6, `strided ${where}`);
      results[where] = await V.data();
    }
    expectClose(results.gpu, results.cpu64, 1e-4, 'strided gpu vs cpu');
  });
});

describe('fused ops vs the composition of engine ops', () => {
  for (const K of [2, 3, 4]) {
    for (const where of ['cpu64', 'gpu'] as Where[]) {
      it(`K=${K} on ${where}: V, loss and gradients`, async () => {
        const B = 19, D = 23;
        const { a, o } = gramInputs(40 + K, B, K, D, 0.7);
        const V1 = tidy(() => gramVolumeMatrix(leaf(a, [B, D], where, false), leaf(o, [B, K - 1, D], where, false)));
        const V2 = tidy(() => composedGramVolumeMatrix(leaf(a, [B, D], where, false), leaf(o, [B, K - 1, D], where, false)));
        const tol = where === 'cpu64' ? 1e-10 : 1e-4;
        expectClose(await V1.data(), await V2.data(), tol, 'V');
        const opts = { tau: 0.1, labelSmoothing: K === 3 ? 0.1 : 0, reduction: K === 4 ? ('mean' as const) : ('sum' as const) };
        const f = await runLoss(where, a, o, B, K, D, opts);
        const c = await runLoss(where, a, o, B, K, D, opts, true);
        expect(Math.abs(f.L - c.L) / Math.abs(c.L)).toBeLessThan(where === 'cpu64' ? 1e-12 : 1e-4);
        expectClose(f.gA, c.gA, where === 'cpu64' ? 1e-9 : 1e-3, 'd anchor');
        expectClose(f.gO, c.gO, where === 'cpu64' ? 1e-9 : 1e-3, 'd others');
      });
    }
  }

  it('float32 tensors on the CPU backend use the same reference (stored as float32)', async () => {
    const B = 6, K = 3, D = 8;
    const { a, o } = gramInputs(3, B, K, D, 0.5);
    const V = gramVolumeMatrix(tensor(Float32Array.from(a), [B, D], { backend: 'cpu' }), tensor(Float32Array.from(o), [B, K - 1, D], { backend: 'cpu' }));
    expect(V.dtype).toBe('float32');
    const V64 = gramVolumeMatrix(leaf(a, [B, D], 'cpu64', false), leaf(o, [B, K - 1, D], 'cpu64', false));
    expectClose(await V.data(), await V64.data(), 1e-5, 'float32 CPU');
  });
});

describe('kernels without subgroups (the portable S = 1 path)', () => {
  it('match the CPU oracle (K = 3)', async () => {
    const { tuning } = await import('../../src/backend/webgpu/gram.js');
    tuning.noSubgroups = true;
    try {
      const B = 21, K = 3, D = 37;
      const { a, o } = gramInputs(501, B, K, D, 0.7);
      const cpu = await runLoss('cpu64', a, o, B, K, D, { tau: 0.1 });
      const gpu = await runLoss('gpu', a, o, B, K, D, { tau: 0.1 });
      expect(Math.abs(gpu.L - cpu.L) / Math.abs(cpu.L)).toBeLessThan(1e-4);
      expectClose(gpu.gA, cpu.gA, 1e-3, 'd anchor');
      expectClose(gpu.gO, cpu.gO, 1e-3, 'd others');
    } finally {
      tuning.noSubgroups = false;
    }
  });
});

describe('the matmul contraction path (runMatmul + epilogue kernels) vs the CPU oracle', () => {
  // Shapes above MATMUL_MIN_MACS take this path on their own; these force it on small, odd shapes.
  const shapes: [number, number, number][] = [
    [1, 2, 5],
    [7, 3, 13],
    [9, 8, 33],
    [33, 4, 130],
  ];
  async function forced<T>(path: 'generated' | 'matmul', fn: () => Promise<T>): Promise<T> {
    const { tuning } = await import('../../src/backend/webgpu/gram.js');
    const prev = tuning.path;
    tuning.path = path;
    try {
      return await fn();
    } finally {
      tuning.path = prev;
    }
  }
  for (const [B, K, D] of shapes) {
    it(`gramVolumeMatrix and the fused loss, B=${B} K=${K} D=${D}`, async () => {
      const { a, o } = gramInputs(700 + B + K, B, K, D, 0.8);
      const gV = randomArray(B * B, 11 + B);
      const cpuV = await runVolume('cpu64', a, o, B, K, D, gV);
      const gpuV = await forced('matmul', () => runVolume('gpu', a, o, B, K, D, gV));
      expectClose(gpuV.V, cpuV.V, 1e-4, 'V');
      expectClose(gpuV.gA, cpuV.gA, 1e-3, 'd anchor');
      expectClose(gpuV.gO, cpuV.gO, 1e-3, 'd others');
      const opts = { tau: 0.1, labelSmoothing: 0.05 };
      const cpuL = await runLoss('cpu64', a, o, B, K, D, opts);
      const gpuL = await forced('matmul', () => runLoss('gpu', a, o, B, K, D, opts));
      expect(Math.abs(gpuL.L - cpuL.L)).toBeLessThan(1e-4 * Math.max(1, Math.abs(cpuL.L))); // B = 1: the loss is 0
      expectClose(gpuL.gA, cpuL.gA, 1e-3, 'd anchor');
      expectClose(gpuL.gO, cpuL.gO, 1e-3, 'd others');
    });
  }
  it('reads an offset anchor view (matmul operands at an offset)', async () => {
    const B = 12, K = 3, D = 16;
    const { a, o } = gramInputs(9, B, K, D, 0.7);
    const big = new Float64Array((B + 2) * D);
    big.set(a, 2 * D);
    const gpu = await forced('matmul', async () => {
      const V = tidy(() => gramVolumeMatrix(slice(leaf(big, [B + 2, D], 'gpu', false), 0, 2), leaf(o, [B, K - 1, D], 'gpu', false)));
      const out = await V.data();
      V.dispose();
      return out;
    });
    const cpu = tidy(() => gramVolumeMatrix(leaf(a, [B, D], 'cpu64', false), leaf(o, [B, K - 1, D], 'cpu64', false)));
    expectClose(gpu, await cpu.data(), 1e-4, 'offset anchor');
  });
});

describe('GPU memory', () => {
  for (const path of ['generated', 'matmul'] as const) {
    it(`repeated fused loss steps (${path} path) leave the pool's buffers in use flat`, async () => {
      const { gpuRuntime } = await import('../../src/index.js');
      const { tuning } = await import('../../src/backend/webgpu/gram.js');
      const prev = tuning.path;
      tuning.path = path;
      try {
        const B = 10, K = 3, D = 24;
        const { a, o } = gramInputs(77, B, K, D, 0.7);
        const A = leaf(a, [B, D], 'gpu');
        const O = leaf(o, [B, K - 1, D], 'gpu');
        const step = async () => {
          A.zeroGrad();
          O.zeroGrad();
          const L = gramContrastiveLoss(A, O, { tau: 0.1 });
          L.backward();
          await Promise.all([A.grad!.data(), O.grad!.data()]);
          L.dispose();
        };
        await step();
        const inUse = gpuRuntime()!.poolStats().inUse;
        for (let r = 0; r < 3; r++) await step();
        expect(gpuRuntime()!.poolStats().inUse).toBe(inUse);
        A.dispose();
        O.dispose();
      } finally {
        tuning.path = prev;
      }
    });
  }
});
