// The capability probe (src/gpu/probe.ts, wgsl/probe.wgsl): a known-answer dispatch at init that
// finds driver bugs, and the work-arounds the kernels take from its result (runtime.quirks). A
// planted wrong answer (the probe kernel computes it on the GPU) must be reported; the planted
// result, set as the runtime's quirks, must switch the kernels to their work-arounds, which must
// then agree with the CPU reference on this adapter too.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deviceInfo, gpuRuntime, tensor, layerNorm, matmul, linear, GpuError } from '../../src/index.js';
import { probeAdapter, type AdapterQuirks } from '../../src/gpu/probe.js';
import { rowLayout } from '../../src/backend/webgpu/rowreduce.js';
import { CASES } from './cases.js';
import { parity, prng } from './harness.js';

const rt = () => gpuRuntime()!;
const rowCases = CASES.filter((c) => /^(softmax|logSoftmax|layerNorm|sum|mean) /.test(c.name) || /^max .*row kernel/.test(c.name));

describe('capability probe', () => {
  let found: AdapterQuirks;
  let hadSubgroups = false;
  beforeAll(() => {
    found = rt().quirks;
    hadSubgroups = rt().useSubgroups;
  });
  afterEach(() => {
    rt().quirks = found;
    rt().useSubgroups = hadSubgroups;
  });

  it('ran at init: deviceInfo() reports its result, and probing again agrees', async () => {
    const q = deviceInfo().quirks!;
    expect(typeof q.sharedReadsMoved).toBe('boolean');
    expect(q.loopLimit === null || q.loopLimit > 1000).toBe(true);
    expect(await probeAdapter(rt())).toEqual(q);
  });

  it('a workgroup read moved past its barrier (planted) is reported, and the tree reductions pin their reads', async () => {
    const q = await probeAdapter(rt(), 'shared-read');
    expect(q.sharedReadsMoved).toBe(true);
    rt().useSubgroups = false;
    rt().quirks = { ...found, sharedReadsMoved: false };
    expect(rowLayout(rt(), 1024).key).toMatch(/^tree:/);
    rt().quirks = q;
    expect(rowLayout(rt(), 1024).key).toMatch(/^tree-pinned:/);
    expect(deviceInfo().quirks!.sharedReadsMoved).toBe(true);
  });

  for (const c of rowCases) {
    it(`pinned tree: ${c.name}`, async () => {
      rt().useSubgroups = false;
      rt().quirks = { ...found, sharedReadsMoved: true };
      await parity(c.name, c.fn, c.specs, c.opts);
    });
  }

  it('a loop limit (planted at 65,535 iterations) is reported', async () => {
    const q = await probeAdapter(rt(), 'loop-limit');
    expect(q.loopLimit).not.toBeNull();
    expect(q.loopLimit!).toBeLessThanOrEqual(65535);
    expect(q.loopLimit!).toBeGreaterThan(60000);
    expect(rt().loopTrips).toBe(found.loopLimit === null ? Infinity : found.loopLimit - 256);
  });

  it('under a loop limit, long row sums and maxima are reduced in segments and stay exact; longer layerNorm rows are refused', async () => {
    const rand = prng(7);
    const rows = 3, n = 20_001; // scalar loads: 313 iterations per lane at 64 lanes per row
    const data = Float32Array.from({ length: rows * n }, () => Math.round((rand() * 2 - 1) * 64) / 8); // exact sums
    const x = tensor(data, [rows, n]);
    const want = { sum: [] as number[], max: [] as number[] };
    for (let r = 0; r < rows; r++) {
      const row = data.subarray(r * n, (r + 1) * n);
      want.sum.push(row.reduce((a, b) => a + b, 0));
      want.max.push(row.reduce((a, b) => Math.max(a, b), -Infinity));
    }
    rt().useSubgroups = false;
    rt().quirks = { ...found, loopLimit: 256 + 100 }; // 100 iterations per invocation
    const before = rt().dispatchCount;
    const s = x.sum(-1);
    expect(rt().dispatchCount - before).toBe(2); // segments, then the segments' sums
    expect(Array.from(await s.data())).toEqual(want.sum);
    expect(Array.from(await x.max(-1).data())).toEqual(want.max);
    expect(() => layerNorm(x)).toThrow(GpuError);
    expect(() => layerNorm(x)).toThrow(/silently stops loops after about 356/);
    rt().quirks = found;
    expect(Array.from(await x.sum(-1).data())).toEqual(want.sum);
  });

  it('under a loop limit, a long matmul contraction is split over K and summed; with a fused bias it is refused', async () => {
    const rand = prng(8);
    const M = 5, K = 1000, N = 6;
    const a = Float32Array.from({ length: M * K }, () => Math.round((rand() * 2 - 1) * 8) / 4); // exact products and sums
    const b = Float32Array.from({ length: K * N }, () => Math.round((rand() * 2 - 1) * 8) / 4);
    const want: number[] = [];
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k] * b[k * N + n];
      want.push(s);
    }
    const A = tensor(a, [M, K]);
    const B = tensor(b, [K, N]);
    rt().quirks = { ...found, loopLimit: 256 + 160 }; // 160 iterations per invocation: K in parts of at most 384
    const before = rt().dispatchCount;
    const C = matmul(A, B);
    expect(rt().dispatchCount - before).toBeGreaterThan(3);
    expect(Array.from(await C.data())).toEqual(want);
    expect(Array.from(await matmul(B.transpose(0, 1), A.transpose(0, 1)).transpose(0, 1).data())).toEqual(want);
    expect(() => linear(A, B.transpose(0, 1), tensor(new Float32Array(N), [N]))).toThrow(/silently stops loops/);
  });

  it('under a loop limit, a reduction over a strided axis leaves the one-invocation-per-output kernel; past what its tree can do it is refused', async () => {
    const rand = prng(9);
    const rows = 150, cols = 16_384; // 16,384 outputs: the serial kernel unless its loop is too long
    const data = Float32Array.from({ length: rows * cols }, () => Math.round((rand() * 2 - 1) * 16) / 4);
    const want = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) want[c] += data[r * cols + c];
    const x = tensor(data, [rows, cols]);
    rt().quirks = { ...found, loopLimit: 256 + 100 };
    expect(Array.from(await x.sum(0).data())).toEqual(Array.from(want));
    const tall = tensor(new Float32Array(7000 * 2).fill(1), [7000, 2]); // 110 iterations per lane of the tree
    expect(() => tall.sum(0)).toThrow(/reduce_sum.*silently stops loops/);
    rt().quirks = found;
    expect(Array.from(await tall.sum(0).data())).toEqual([7000, 7000]);
  });
});
