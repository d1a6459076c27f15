// Long rows under a driver loop limit (docs/ENGINE.md, "Driver bugs"): llvmpipe of stock Mesa 22
// stops every loop of an invocation after 65,535 iterations, silently. Attention rows walk every
// key (or, for dK/dV, every query), so past attentionLoopTrips the routine declines and the
// composed version runs. On every adapter the long cases must match float64; under a planted
// small limit the fused kernels must not run at all.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gpuRuntime, profile } from '../../src/index.js';
import type { AdapterQuirks } from '../../src/gpu/probe.js';
import { attentionLoopTrips } from '../../src/backend/webgpu/attention.js';
import { inputs, relErr, run, type Shape } from './helpers.js';

const rt = () => gpuRuntime()!;

async function expectMatchesFloat64(s: Shape, seed: number): Promise<void> {
  const x = inputs(seed, s);
  const ref = await run(s, x, 'cpu64');
  const r = await run(s, x, 'staged');
  for (const t of ['out', 'dq', 'dk', 'dv'] as const) expect(relErr(r[t], ref[t]), t).toBeLessThan(2e-4);
}

describe('attention past a driver loop limit', () => {
  let found: AdapterQuirks;
  beforeAll(() => {
    found = rt().quirks;
  });
  afterEach(() => {
    rt().quirks = found;
  });

  // 8192 keys × head dim 32: about 850 k loop steps per row by the bound, far past Mesa 22's 65,535.
  it('8192 keys (forward, dQ) and 8192 queries (dK/dV) match float64 on this adapter', async () => {
    await expectMatchesFloat64({ B: 1, Tq: 6, Tk: 8192, D: 64, heads: 2, mask: true }, 41);
    await expectMatchesFloat64({ B: 1, Tq: 8192, Tk: 5, D: 64, heads: 2 }, 42);
  });

  it('under a planted limit the routine declines (no attention kernel runs) and the composed version is right', async () => {
    const s: Shape = { B: 2, Tq: 7, Tk: 300, D: 32, heads: 2, mask: true };
    expect(attentionLoopTrips({ B: 2, Tq: 7, Tk: 300, H: 2, DH: 16 } as never)).toBeGreaterThan(5000);
    const kernelsRun = async () => (await profile(() => expectMatchesFloat64(s, 43))).rows.map((r) => r.name);
    expect((await kernelsRun()).some((n) => /^attention_/.test(n))).toBe(true);
    rt().quirks = { ...found, loopLimit: 5000 };
    const names = await kernelsRun();
    expect(names.some((n) => /^attention_/.test(n)), names.join(', ')).toBe(false);
  });
});
