// The WebGPU runtime: errors that name kernels and shapes, device limits, the buffer pool,
// the pipeline cache, batching, a training loop that must not grow memory, and device loss.
import { describe, expect, it } from 'vitest';
import {
  init, gpuRuntime, sync, tensor, zeros, ones, full, randn, manualSeed, linear, mseLoss, noGrad, tidy, keep, GpuError, Tensor,
} from '../../src/index.js';
import type { Kernel } from '../../src/gpu/runtime.js';
import { Params } from '../../src/backend/webgpu/source.js';

const rt = () => gpuRuntime()!;

describe('GPU runtime', () => {
  it('invalid WGSL: the next sync() rejects naming the kernel; the device keeps working', async () => {
    const broken: Kernel = {
      name: 'my_broken_kernel',
      key: 'test:broken:1',
      bindings: ['rw'],
      code: () => '@group(0) @binding(0) var<storage, read_write> Y: array<f32>;\n@compute @workgroup_size(1) fn main() { Y[0] = undefined_thing; }',
    };
    const buf = rt().alloc(16);
    rt().dispatch(broken, null, [buf], [1], '[4] -> [4]');
    await expect(sync()).rejects.toThrow(/my_broken_kernel.*failed to compile/);
    // Known broken now: a second dispatch throws at once.
    expect(() => rt().dispatch(broken, null, [buf], [1])).toThrow(/my_broken_kernel/);
    rt().free(buf);
    expect(Array.from(await ones([3]).add(1).data())).toEqual([2, 2, 2]);
  });

  it('invalid WGSL: a readback after it rejects naming the kernel', async () => {
    const broken: Kernel = { name: 'another_broken', key: 'test:broken:2', bindings: ['rw'], code: () => 'fn main( {' };
    const t = zeros([4]);
    rt().dispatch(broken, null, [t.storage.handle as GPUBuffer], [1]);
    await expect(t.data()).rejects.toThrow(/another_broken/);
    t.dispose();
    await sync(); // the error was reported once; nothing pending
  });

  it('a validation error in a batch names the kernels and shapes of that batch', async () => {
    // A valid shader whose uniform needs 32 bytes, given 16: the bind group is invalid.
    const k: Kernel = {
      name: 'needs_32_bytes',
      key: 'test:uniform-too-small',
      bindings: ['uniform', 'rw'],
      code: () => `struct P { a: vec4<f32>, b: vec4<f32> }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(1) fn main() { Y[0] = p.a.x + p.b.x; }`,
    };
    const out = rt().alloc(16);
    rt().dispatch(k, new Params().f32(1, 2, 3, 4).build(), [out], [1], '[7, 3] -> [7]');
    await expect(sync()).rejects.toThrow(/GPU validation error.*needs_32_bytes \[7, 3\] -> \[7\]/s);
    rt().free(out);
    await sync();
  });

  it('an allocation past the device limit throws a GpuError at once', () => {
    let err: unknown;
    try {
      zeros([2 ** 30, 64]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GpuError);
    expect((err as Error).message).toMatch(/maxStorageBufferBindingSize/);
    expect((err as Error).message).toMatch(/\[1073741824, 64\]/);
    expect(() => rt().alloc(rt().maxBindingBytes + 4)).toThrow(/maxStorageBufferBindingSize/);
  });

  it('10,000 allocate/free cycles keep the pool flat', async () => {
    const sizes = [4, 100, 1024, 4096, 70_000];
    for (const s of sizes) rt().free(rt().alloc(s)); // warm-up: one buffer per size class
    const live = rt().poolStats().liveBuffers;
    for (let i = 0; i < 10_000; i++) rt().free(rt().alloc(sizes[i % sizes.length]));
    expect(rt().poolStats().liveBuffers).toBe(live);
    // The same through tensors (kernels recorded, buffers recycled while batched).
    for (let i = 0; i < 2_000; i++) ones([1 + (i % 5), 3]).dispose();
    await sync();
    const live2 = rt().poolStats().liveBuffers;
    for (let i = 0; i < 2_000; i++) ones([1 + (i % 5), 3]).dispose();
    await sync();
    expect(rt().poolStats().liveBuffers).toBe(live2);
  });

  it('grids fold past 65,535 workgroups per dimension; contiguous views read in place', async () => {
    const n = 16_777_728; // 65,538 workgroups of 256
    const t = full([n], 2);
    expect(await t.sum().item()).toBe(2 * n);
    const tail = t.slice(0, n - 3).add(tensor([1, 2, 3]));
    expect(Array.from(await tail.data())).toEqual([3, 4, 5]);
    expect(Array.from(await t.slice(0, n - 2).data())).toEqual([2, 2]);
    t.dispose();
    tail.dispose();
  });

  it('pipelines are cached and dispatches batched', async () => {
    const x = ones([8]);
    x.mul(2).dispose();
    await sync();
    const pipelines = (rt() as unknown as { pipelines: Map<string, unknown> }).pipelines.size;
    const d0 = rt().dispatchCount;
    for (let i = 0; i < 200; i++) x.mul(2).dispose();
    expect(rt().dispatchCount - d0).toBe(200);
    expect((rt() as unknown as { pipelines: Map<string, unknown> }).pipelines.size).toBe(pipelines);
    await sync();
    x.dispose();
  });

  it('a 1,000-step training loop: loss falls and the pool stays flat', async () => {
    manualSeed(3);
    const X = randn([64, 3]);
    const wTrue = tensor([[0.8, -1.2, 0.5]]);
    const Y = noGrad(() => tidy(() => linear(X, wTrue).tanh().mul(2)));
    let params: Tensor[] = [randn([16, 3], { std: 0.5 }), zeros([16]), randn([1, 16], { std: 0.3 }), zeros([1])];
    params.forEach((p) => p.requiresGrad_());
    const lr = 0.05;
    const step = (): Tensor => {
      const [w1, b1, w2, b2] = params;
      const loss = tidy(() => mseLoss(linear(linear(X, w1, b1).tanh(), w2, b2), Y));
      loss.backward();
      // SGD, by hand: p <- p - lr * grad, without recording a graph.
      params = noGrad(() =>
        params.map((p) => {
          const next = keep(tidy(() => p.sub(p.grad!.mul(lr))));
          p.dispose(); // also frees p.grad
          return next.requiresGrad_();
        }),
      );
      return loss;
    };
    const losses: number[] = [];
    let liveAt100 = -1;
    let inUseAt100 = -1;
    for (let i = 1; i <= 1000; i++) {
      const loss = step();
      if (i === 1 || i % 100 === 0) losses.push((await loss.data())[0]);
      loss.dispose();
      if (i === 100) {
        liveAt100 = rt().poolStats().liveBuffers;
        inUseAt100 = rt().poolStats().inUse;
      }
    }
    await sync();
    expect(rt().poolStats().liveBuffers).toBe(liveAt100);
    expect(rt().poolStats().inUse).toBe(inUseAt100);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.2);
    for (let k = 2; k < losses.length; k++) expect(losses[k]).toBeLessThanOrEqual(losses[k - 1] * 1.01);
    [X, wTrue, Y, ...params].forEach((t) => t.dispose());
  });

  it('buffers released over the pool cap are destroyed only after the batch that uses them is submitted', async () => {
    const pool = rt().pool as unknown as { maxFreeBytes: number };
    const cap = pool.maxFreeBytes;
    pool.maxFreeBytes = 0; // every release goes over the cap
    try {
      const x = tensor([1, 2, 3, 4]);
      // Intermediates are released while their dispatches are still only recorded.
      const y = tidy(() => x.mul(2).add(1).exp().log().sub(1));
      expect(Array.from(await y.data())).toEqual([2, 4, 6, 8]);
      await sync();
      x.dispose();
      y.dispose();
    } finally {
      pool.maxFreeBytes = cap;
    }
  });

  it('timeGpu: timestamp queries bracket the recorded work (null without the feature)', async () => {
    if (!rt().device.features.has('timestamp-query')) {
      expect(await rt().timeGpu(() => ones([4]).dispose())).toBeNull();
      return;
    }
    const minOf = async (fn: () => unknown, n = 3) => {
      const ts: number[] = [];
      for (let i = 0; i < n; i++) ts.push(Number(await rt().timeGpu(fn)));
      return Math.min(...ts);
    };
    // The work is sized to this device: the smallest n (256, 512, ...) whose product takes >= 1 ms,
    // so the timestamps' resolution (Dawn: 2^16 ns) and fixed costs stay small against it.
    let n = 256;
    let a = randn([n, n]);
    let t1 = 0;
    for (;;) {
      const m = a;
      t1 = await minOf(() => tidy(() => void m.matmul(m))); // first call compiles
      t1 = await minOf(() => tidy(() => void m.matmul(m)));
      if (t1 >= 1 || n >= 4096) break;
      a.dispose();
      n *= 2;
      a = randn([n, n]);
    }
    const m = a;
    const t8 = await minOf(() => tidy(() => { for (let i = 0; i < 8; i++) m.matmul(m); }));
    expect(t1).toBeGreaterThan(0);
    expect(t8).toBeGreaterThan(3 * t1); // eight products take longer than one
    // Only the queue's execution counts: host time before and between the recorded batches does not.
    const idle = Number(await rt().timeGpu(async () => {
      await new Promise((r) => setTimeout(r, 150));
      tidy(() => void m.matmul(m));
      rt().flush();
      await new Promise((r) => setTimeout(r, 150));
      tidy(() => void m.matmul(m));
    }));
    expect(idle).toBeGreaterThan(0);
    expect(idle).toBeLessThan(2 * t1 + 100);
    expect(await rt().timeGpu(() => undefined)).toBe(0); // nothing recorded
    // A throwing fn still submits its work and leaves the runtime usable.
    await expect(rt().timeGpu(() => { tidy(() => void m.matmul(m)); throw new Error('boom'); })).rejects.toThrow('boom');
    expect(Array.from(await ones([2]).add(1).data())).toEqual([2, 2]);
    a.dispose();
  });

  it('device loss: operations throw a GpuError; init() recovers', async () => {
    const t = ones([2]);
    rt().device.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(rt().lost).toBe(true);
    expect(() => ones([2])).toThrow(/device lost/);
    await expect(t.data()).rejects.toThrow(/device lost/);
    t.dispose(); // freeing on a lost device is harmless
    await init();
    expect(Array.from(await ones([2]).mul(3).data())).toEqual([3, 3]);
  });
});
