// The elementwise kernel's read paths (src/backend/webgpu/elementwise.ts): which layout and whether the
// vec4 variant applies, and GPU-vs-CPU parity on each path (contiguous, scalar, bias row, per-row
// statistic, unaligned offsets, general strides, index-based ops).
import { describe, expect, it } from 'vitest';
import { add, arange, mul, gelu, where, gt, tensor } from '../../src/index.js';
import { mapPlan } from '../../src/backend/webgpu/elementwise.js';
import { inp, parity } from './harness.js';

const view = (shape: number[], strides: number[], offset = 0) => ({ shape, strides, offset, dtype: 'float32' }) as never;

describe('elementwise read paths', () => {
  it('plans: vec4 where every input is contiguous or broadcast in runs of 4, scalar reads otherwise', () => {
    const x = view([8, 1024], [1024, 1]);
    expect(mapPlan([8, 1024], [x, view([8, 1024], [0, 1])]).vec).toEqual(['v', 'v']); // bias row
    expect(mapPlan([8, 1024], [x, view([8, 1024], [1, 0])]).vec).toEqual(['v', 'x']); // per-row statistic
    expect(mapPlan([8, 1024], [x, view([8, 1024], [0, 0])]).vec).toEqual(['v', 'x']); // scalar
    expect(mapPlan([8, 1024], [view([8, 1024], [1024, 1], 2)]).vec).toBeNull(); // offset not aligned to 4
    expect(mapPlan([7, 1023], [view([7, 1023], [1023, 1])]).vec).toBeNull(); // size not a multiple of 4
    expect(mapPlan([8, 1024], [view([8, 1024], [1, 8])]).vec).toBeNull(); // transposed: general strides
    expect(mapPlan([4, 6], [view([4, 6], [1, 0])]).vec).toBeNull(); // rows of 6: a run not a multiple of 4
    expect(mapPlan([8, 1024], [x]).layouts).toEqual(['c']);
    // A block broadcast over a middle dim under an outer one ([B, 1, C] read as [B, T, C]): 'o', vec4 when aligned.
    const mid = mapPlan([8, 26, 128], [view([8, 26, 128], [26 * 128, 128, 1]), view([8, 26, 128], [128, 0, 1])]);
    expect(mid.layouts).toEqual(['c', 'o']);
    expect(mid.vec).toEqual(['v', 'v']);
    expect(mid.kinds[1].block).toEqual([128, 1, 26 * 128, 128]);
    expect(mapPlan([8, 26, 6], [view([8, 26, 6], [6, 0, 1])]).vec).toBeNull(); // runs of 6
    expect(mapPlan([8, 26, 6], [view([8, 26, 6], [6, 0, 1])]).layouts).toEqual(['o']);
    expect(mapPlan([8, 5, 3, 4], [view([8, 5, 3, 4], [3, 0, 1, 0])]).vec).toEqual(['x']); // trailing repeat of 4
    expect(mapPlan([8, 5, 3, 4], [view([8, 5, 3, 4], [3, 0, 1, 0])]).layouts).toEqual(['o']);
    expect(mapPlan([4, 8, 26, 128], [view([4, 8, 26, 128], [128, 512, 0, 1])]).layouts).toEqual(['g']); // two outer dims
  });

  const cases: [string, (...t: never[]) => unknown, ReturnType<typeof inp>[]][] = [
    ['contiguous (vec4)', (a: never, b: never) => mul(a, b), [inp([8, 64]), inp([8, 64])]],
    ['bias row (vec4)', (a: never, b: never) => add(a, b), [inp([8, 64]), inp([64])]],
    ['per-row statistic (splat)', (a: never, b: never) => mul(a, b), [inp([8, 64]), inp([8, 1])]],
    ['rows of 6 (scalar)', (a: never, b: never) => mul(a, b), [inp([4, 6]), inp([4, 1])]],
    ['unaligned slice (scalar)', (a: never, b: never) => add(a, b), [inp([4, 8], { view: 'slice' }), inp([4, 8])]],
    ['transposed (general)', (a: never) => gelu(a), [inp([16, 12], { view: 'T' })]],
    ['middle broadcast [B, 1, C] (vec4)', (a: never, b: never) => add(a, b), [inp([3, 5, 8]), inp([3, 1, 8])]],
    ['middle broadcast, rows of 6 (scalar)', (a: never, b: never) => mul(a, b), [inp([3, 5, 6]), inp([3, 1, 6])]],
    ['middle broadcast with a trailing repeat (splat)', (a: never, b: never) => mul(a, b), [inp([2, 3, 5, 4]), inp([2, 1, 5, 1])]],
    ['three inputs (where)', (c: never, a: never, b: never) => where(gt(c, 0), a, b), [inp([8, 32]), inp([8, 32]), inp([32])]],
  ];
  for (const [name, fn, specs] of cases) {
    it(`GPU = CPU: ${name}`, async () => parity(name, fn as never, specs));
  }

  it('index-based ops get each element its own index in the vec4 variant', async () => {
    expect(Array.from(await arange(0, 2, 0.25).data())).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]);
    const t = tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], { dtype: 'int32' });
    expect(Array.from(await add(t, t).data())).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
  });
});
