// The profiler (src/gpu/profile.ts): exact call counts on a known workload, rows that sum to the
// totals, a valid Chrome trace, and errors.
import { describe, expect, it } from 'vitest';
import { gpuRuntime, profile, randn, tidy, GpuError } from '../../src/index.js';

/** A known workload: 1 matmul [32,48]@[48,16], 3 scalar adds, 2 relus, one sum, one readback. */
async function workload(a: ReturnType<typeof randn>, b: ReturnType<typeof randn>): Promise<Float32Array> {
  const y = tidy(() => {
    let v = a.matmul(b);
    for (let i = 0; i < 3; i++) v = v.add(0.5);
    v = v.relu().relu();
    return v.sum();
  });
  const d = (await y.data()) as Float32Array;
  y.dispose();
  return d;
}

describe('profile()', () => {
  it('counts every dispatch exactly; host rows sum to the wall time, GPU rows to the GPU total', async () => {
    const a = randn([32, 48]);
    const b = randn([48, 16]);
    const expected = await workload(a, b); // compile outside the profile
    const rt = gpuRuntime()!;
    const before = rt.dispatchCount;
    const p = await profile(() => workload(a, b));
    const dispatched = rt.dispatchCount - before;
    expect(Array.from(p.result)).toEqual(Array.from(expected));
    expect(p.dispatches).toBe(dispatched);

    const calls = (name: string) => p.rows.filter((r) => r.kind === 'kernel' && r.name === name).reduce((s, r) => s + r.calls, 0);
    expect(calls('add_scalar')).toBe(3);
    expect(calls('relu')).toBe(2);
    expect(calls('reduce_sum') + calls('row_sum')).toBe(1);
    const matmulCalls = p.rows.filter((r) => r.kind === 'kernel' && r.name.startsWith('matmul')).reduce((s, r) => s + r.calls, 0);
    const kernelCalls = p.rows.filter((r) => r.kind === 'kernel').reduce((s, r) => s + r.calls, 0);
    expect(kernelCalls).toBe(dispatched);
    expect(matmulCalls).toBe(dispatched - 6);
    expect(p.rows.filter((r) => r.kind === 'readback').reduce((s, r) => s + r.calls, 0)).toBe(1);
    // The readback's copy into the staging buffer: one copy of the 4-byte sum.
    expect(p.rows.filter((r) => r.kind === 'copy').map((r) => [r.shape, r.calls])).toEqual([['4 bytes', 1]]);
    // One row per (kernel, shape): the three adds share a shape, so one row.
    const adds = p.rows.filter((r) => r.name === 'add_scalar');
    expect(adds).toHaveLength(1);
    expect(adds[0].shape).toBe('[32, 16] -> [32, 16]');

    const hostSum = p.rows.reduce((s, r) => s + r.hostMs, 0);
    expect(Math.abs(hostSum - p.wallMs)).toBeLessThan(1e-6 * Math.max(1, p.wallMs) + 1e-9);
    expect(p.wallMs).toBeGreaterThan(0);
    const shareSum = p.rows.reduce((s, r) => s + r.share, 0);
    expect(shareSum).toBeCloseTo(1, 6);
    for (const r of p.rows) {
      expect(r.calls).toBeGreaterThan(0);
      expect(r.hostMs).toBeGreaterThanOrEqual(0);
    }
    if (rt.device.features.has('timestamp-query')) {
      expect(p.gpuMs).not.toBeNull();
      const gpuSum = p.rows.reduce((s, r) => s + (r.gpuMs ?? 0), 0);
      expect(Math.abs(gpuSum - p.gpuMs!)).toBeLessThan(1e-6 * Math.max(1, p.gpuMs!));
      expect(p.gpuMs!).toBeGreaterThan(0);
      for (const r of p.rows) if (r.kind === 'kernel' || r.kind === 'copy') expect(r.gpuMs).toBeGreaterThanOrEqual(0);
      else expect(r.gpuMs).toBeNull();
    } else {
      expect(p.gpuMs).toBeNull();
    }
    expect(p.table()).toMatch(/add_scalar/);
    a.dispose();
    b.dispose();
  });

  it('writes a valid Chrome trace: one host span per event, one GPU span per timed dispatch', async () => {
    const a = randn([8, 8]);
    const b = randn([8, 8]);
    await workload(a, b);
    const p = await profile(() => workload(a, b));
    const trace = JSON.parse(JSON.stringify(p.trace())) as { traceEvents: { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; cat: string }[] };
    expect(Array.isArray(trace.traceEvents)).toBe(true);
    const spans = trace.traceEvents.filter((e) => e.ph === 'X');
    for (const e of trace.traceEvents) {
      expect(typeof e.name).toBe('string');
      expect(['X', 'M']).toContain(e.ph);
      expect(Number.isFinite(e.ts)).toBe(true);
      expect(Number.isInteger(e.pid) && Number.isInteger(e.tid)).toBe(true);
    }
    for (const e of spans) expect(e.dur!).toBeGreaterThanOrEqual(0);
    const host = spans.filter((e) => e.tid === 1);
    expect(host.length).toBe(p.rows.reduce((s, r) => s + r.calls, 0));
    // Host spans are back to back, in order.
    for (let i = 1; i < host.length; i++) expect(host[i].ts).toBeGreaterThanOrEqual(host[i - 1].ts - 1e-3);
    const gpu = spans.filter((e) => e.tid === 2);
    const copies = p.rows.filter((r) => r.kind === 'copy').reduce((s, r) => s + r.calls, 0);
    expect(gpu.length).toBe(gpuRuntime()!.device.features.has('timestamp-query') ? p.dispatches + copies : 0);
    a.dispose();
    b.dispose();
  });

  it('past options.limit events: calls and host times stay exact, GPU times and the trace cover the first events', async () => {
    const a = randn([8, 8]);
    const b = randn([8, 8]);
    await workload(a, b);
    const full = await profile(() => workload(a, b));
    const p = await profile(() => workload(a, b), { limit: 3 });
    const calls = (q: typeof p) => Object.fromEntries(q.rows.map((r) => [`${r.kind} ${r.name} ${r.shape}`, r.calls]));
    expect(calls(p)).toEqual(calls(full));
    expect(Math.abs(p.rows.reduce((s, r) => s + r.hostMs, 0) - p.wallMs)).toBeLessThan(1e-6 * Math.max(1, p.wallMs));
    expect(p.rows.reduce((s, r) => s + r.gpuCalls, 0)).toBeLessThanOrEqual(3);
    expect(p.trace().traceEvents.filter((e) => e.ph === 'X' && e.tid === 1)).toHaveLength(3);
    expect(p.table()).toMatch(/first 3 events/);
    await expect(profile(() => 1, { limit: 0 })).rejects.toThrow(/options.limit/);
    a.dispose();
    b.dispose();
  });

  it('refuses to nest; a throwing function leaves the runtime unprofiled', async () => {
    await expect(profile(async () => profile(() => 1))).rejects.toThrow(GpuError);
    await expect(
      profile(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(gpuRuntime()!.profiler).toBeNull();
    const p = await profile(() => 7);
    expect(p.result).toBe(7);
    expect(p.dispatches).toBe(0);
  });
});
