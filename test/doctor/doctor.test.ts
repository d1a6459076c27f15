// selfTest() / `dualalign doctor`: every kernel family passes on this adapter, and a family whose
// kernel gives wrong numbers is reported as failed with its name, its error and the adapter.
// The wrong numbers are planted on the device: the runtime's dispatch is wrapped so that the
// layerNorm forward kernel runs with eps = 0.5 in its uniforms (a real kernel, really wrong).
import { describe, expect, it } from 'vitest';
import { deviceInfo, formatSelfTest, gpuRuntime, selfTest, SELF_TEST_FAMILIES } from '../../src/index.js';
import { isTestedAdapter, untestedAdapterNotice } from '../../src/gpu/init.js';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import type { GpuRuntime } from '../../src/gpu/runtime.js';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Runs `fn` with the layerNorm forward kernel dispatched with eps = 0.5 instead of its own. */
async function withWrongLayerNorm<T>(fn: () => Promise<T>): Promise<T> {
  const rt = gpuRuntime() as GpuRuntime;
  const dispatch = rt.dispatch;
  rt.dispatch = function (kernel, params, buffers, workgroups, describe) {
    if (kernel.name === 'layer_norm' && params) {
      params = params.slice(0);
      new Float32Array(params, 8, 1)[0] = 0.5; // uniforms: rows, row length, eps, ...
    }
    return dispatch.call(this, kernel, params, buffers, workgroups, describe);
  };
  try {
    return await fn();
  } finally {
    rt.dispatch = dispatch;
  }
}

describe('selfTest / dualalign doctor', () => {
  it('every kernel family matches the float64 reference on this adapter', async () => {
    const report = await selfTest();
    expect(report.families.map((f) => f.family)).toEqual([...SELF_TEST_FAMILIES]);
    for (const f of report.families) {
      expect(f.error, f.family).toBeUndefined();
      expect(f.cases, f.family).toBeGreaterThan(1);
      expect(f.worstError, `${f.family}: ${f.worstCase}`).toBeLessThanOrEqual(f.tolerance);
      expect(f.passed, f.family).toBe(true);
    }
    expect(report.passed).toBe(true);
    expect(report.adapter).toContain(deviceInfo().description);
    console.log(formatSelfTest(report)); // its time is measured, not asserted (README)
  }, 900_000); // first-time pipeline compiles of every family: minutes on a loaded CPU adapter

  it('a family with wrong numbers is reported failed, with its error, tolerance and the adapter', async () => {
    const report = await withWrongLayerNorm(() => selfTest({ families: ['softmax', 'layerNorm'] }));
    const [softmax, ln] = report.families;
    expect(softmax).toMatchObject({ family: 'softmax', passed: true });
    expect(ln).toMatchObject({ family: 'layerNorm', passed: false });
    expect(ln.worstError).toBeGreaterThan(ln.tolerance);
    expect(ln.worstError).toBeGreaterThan(1e-2);
    expect(ln.worstCase).toMatch(/^layerNorm /);
    expect(report.passed).toBe(false);
    const text = formatSelfTest(report);
    expect(text).toMatch(/FAIL\s+layerNorm\s+worst error \S+ \(tolerance 1\.0e-4\)/);
    expect(text).toContain(`FAILED: layerNorm on ${report.adapter}`);
    expect(text).toContain(deviceInfo().description);
    // the same device, unplanted, passes again (nothing cached from the planted run)
    expect((await selfTest({ families: ['layerNorm'] })).passed).toBe(true);
  });

  it('dualalign doctor: --help, --json, --family, and exit code 1 naming the adapter on a failure', async () => {
    const help = await cli(['doctor', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: dualalign doctor');
    const bad = await cli(['doctor', '--family', 'softmx']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown --family 'softmx'");
    const ok = await cli(['doctor', '--family', 'softmax,random', '--json']);
    expect(ok.code).toBe(0);
    const json = JSON.parse(ok.stdout);
    expect(json).toMatchObject({ passed: true, adapter: expect.stringContaining(deviceInfo().description) });
    expect(json.families.map((f: { family: string }) => f.family)).toEqual(['softmax', 'random']);
    const failed = await withWrongLayerNorm(() => cli(['doctor', '--family', 'layerNorm']));
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/FAIL\s+layerNorm/);
    expect(failed.stdout).toContain(deviceInfo().description);
  });

  it('init() names doctor on adapters the project has not been tested on', () => {
    expect(isTestedAdapter(deviceInfo())).toBe(true); // the suite runs on lavapipe or Mesa's GLES (or the H200)
    expect(isTestedAdapter({ backend: 'webgpu', vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7' })).toBe(true);
    expect(isTestedAdapter({ backend: 'webgpu-compat', vendor: '', architecture: '', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6' })).toBe(true);
    expect(isTestedAdapter({ backend: 'webgpu', vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })).toBe(true);
    expect(isTestedAdapter({ backend: 'webgpu', vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA GeForce RTX 4090' })).toBe(false);
    expect(isTestedAdapter({ backend: 'webgpu', vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX' })).toBe(false);
    expect(isTestedAdapter({ backend: 'webgpu-compat', vendor: 'intel', architecture: '', description: 'ANGLE (Intel UHD 630)' })).toBe(false);
    const line = untestedAdapterNotice({ ...deviceInfo(), vendor: 'amd', description: 'AMD Radeon RX 7900 XTX' });
    expect(line).toContain('AMD Radeon RX 7900 XTX');
    expect(line).toContain('dualalign doctor');
    expect(line).toContain('selfTest()');
    expect(line.includes('\n')).toBe(false);
  });
});
