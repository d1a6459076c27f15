// The staged family's tiled kernels (wgsl/attention.wgsl, section tiled) under geometries the
// adapter's defaults do not pick: several rows per invocation, scalar instead of vec4 loads, more
// invocations per row with small blocks, the workgroup-memory row sums. Each must agree with the
// float64 CPU reference, masks and attention dropout included (same Philox stream, so the same
// weights dropped), with a head dim that is not a multiple of 4 * invocations per row (padding).
import { describe, expect, it } from 'vitest';
import { manualSeed, setAttentionTuning } from '../../src/index.js';
import { inputs, relErr, run, type Shape } from './helpers.js';

const s: Shape = { B: 2, Tq: 9, Tk: 13, D: 40, heads: 2, mask: true };

describe('crossAttention staged tiled kernels: geometries', () => {
  it('rows per invocation, scalar loads, invocations per row, block size, row sums in workgroup memory', async () => {
    const x = inputs(31, s);
    manualSeed(77);
    const ref = await run(s, x, 'cpu64', { dropout: 0.25 });
    const geometries = [{ rpt: 2, vec: false }, { tpr: 4, blk: 4, sub: false }];
    for (const geo of geometries) {
      const prev = setAttentionTuning({ staged: 'tiled', ...geo });
      try {
        manualSeed(77);
        const got = await run(s, x, 'staged', { dropout: 0.25 });
        for (const t of ['out', 'dq', 'dk', 'dv'] as const) expect(relErr(got[t], ref[t]), `${JSON.stringify(geo)} ${t}`).toBeLessThan(t === 'out' ? 1e-4 : 1e-3);
      } finally {
        setAttentionTuning(prev);
      }
    }
  });
});
