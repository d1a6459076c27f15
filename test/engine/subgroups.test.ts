// The row kernels (softmax, logSoftmax, layerNorm, sum / mean / max over rows) use subgroup operations where the device has
// them and workgroup-memory trees where it does not: both paths against the CPU reference on
// the same device, plus the subgroup size in deviceInfo().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceInfo, gpuRuntime } from '../../src/index.js';
import { CASES } from './cases.js';
import { parity } from './harness.js';

const rowCases = CASES.filter((c) => /^(softmax|logSoftmax|layerNorm|sum|mean) /.test(c.name) || /^max .*row kernel/.test(c.name));

describe('row kernels with and without subgroups', () => {
  let had = false;
  beforeAll(() => {
    had = gpuRuntime()!.useSubgroups;
  });
  afterAll(() => {
    gpuRuntime()!.useSubgroups = had;
  });

  it('deviceInfo() reports the subgroup size when the device has subgroups', () => {
    const info = deviceInfo();
    if (!info.features.includes('subgroups')) return;
    expect(info.subgroupMinSize).toBeGreaterThanOrEqual(1);
    expect(info.subgroupMaxSize).toBeGreaterThanOrEqual(info.subgroupMinSize!);
  });

  it('has row cases to run', () => {
    expect(rowCases.length).toBeGreaterThan(20);
  });

  for (const mode of ['tree', 'subgroups'] as const) {
    for (const c of rowCases) {
      it(`${mode}: ${c.name}`, async (ctx) => {
        if (mode === 'subgroups' && !had) ctx.skip(); // the device has none: only the fallback runs
        gpuRuntime()!.useSubgroups = mode === 'subgroups';
        await parity(c.name, c.fn, c.specs, c.opts);
      });
    }
  }
});
