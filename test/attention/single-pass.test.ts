// The direct family's single-pass backward (bwd_direct in wgsl/attention.wgsl): one workgroup per
// (batch, head) walks every key block and adds dQ into its output in place. It must agree with the
// float64 CPU reference and with the two-kernel backward (dq_direct + dkdv_direct) it replaces:
// several key blocks and query steps (so dQ is read back and added to, not only written once),
// lengths that are not multiples of a block, masks with an all-masked batch, attention dropout
// (same Philox stream), and Tq = Tk = 1. The direct family needs fixed-size subgroups (lavapipe);
// elsewhere these cases are skipped.
import { describe, expect, it } from 'vitest';
import { init, manualSeed, setAttentionTuning } from '../../src/index.js';
import { directSubgroup } from '../../src/backend/webgpu/attention.js';
import { gpuRuntime } from '../../src/gpu/init.js';
import { inputs, relErr, run, type Shape } from './helpers.js';

await init();
/** Whether this adapter can run the direct family at head dim 16 (fixed subgroups of 4–16 lanes). */
const direct = (() => {
  const prev = setAttentionTuning({ variant: 'direct' });
  try {
    return directSubgroup(gpuRuntime()!, 16) > 0;
  } finally {
    setAttentionTuning(prev);
  }
})();

const cases: [string, Shape, number][] = [
  // key blocks of SG·R keys: Tk = 37 spans 3 blocks at R = 2 (lavapipe SG = 8), Tq = 21 three query steps
  ['several key blocks and query steps, masked, one batch all masked', { B: 3, Tq: 21, Tk: 37, D: 32, heads: 2, mask: true, allMasked: true }, 0],
  ['attention dropout', { B: 2, Tq: 11, Tk: 19, D: 32, heads: 2, mask: true }, 0.3],
  ['Tq = Tk = 1', { B: 2, Tq: 1, Tk: 1, D: 16, heads: 1 }, 0],
  ['head dim 64, cross lengths', { B: 1, Tq: 5, Tk: 70, D: 128, heads: 2 }, 0],
];

describe.runIf(direct)('crossAttention direct family: single-pass backward', () => {
  for (const [name, s, p] of cases) {
    it(`${name}: matches the float64 reference and the two-kernel backward`, async () => {
      const x = inputs(41, s);
      manualSeed(5);
      const ref = await run(s, x, 'cpu64', { dropout: p });
      const results = [];
      // single: 1 uses bwd_direct whatever B·heads; 0 the two kernels. R = 2 keys per lane, and R = 1
      // with KB = 4 queries per step (more blocks, more read-add-writes of dQ).
      for (const tune of [{ single: 1 }, { single: 1, dkdv: [1, 4] as [number, number] }, { single: 0 }]) {
        const prev = setAttentionTuning(tune);
        try {
          manualSeed(5);
          results.push(await run(s, x, 'direct', { dropout: p }));
        } finally {
          setAttentionTuning(prev);
        }
      }
      for (const [i, got] of results.entries()) {
        for (const t of ['out', 'dq', 'dk', 'dv'] as const) expect(relErr(got[t], ref[t]), `run ${i} ${t}`).toBeLessThan(t === 'out' ? 1e-4 : 1e-3);
      }
      // the single pass adds dQ in the two-kernel order: the same float32 sums
      for (const t of ['dq', 'dk', 'dv'] as const) expect(relErr(results[0][t], results[2][t])).toBeLessThan(1e-6);
    });
  }
});
