// Creation ops, the Philox RNG (identical stream on the device and the CPU reference), and
// ndarray interop.
import { describe, expect, it } from 'vitest';
import ndarray from 'ndarray';
import {
  tensor, zeros, ones, full, arange, eye, rand, randn, manualSeed, Generator, dropout, to, fromNdarray, toNdarray, gpuRuntime,
} from '../../src/index.js';
import { philox4x32, toUnit } from '../../src/backend/philox.js';

const vals = async (t: { data(): Promise<ArrayLike<number>> }) => Array.from(await t.data());

describe('creation', () => {
  it('zeros, ones, full, eye, tensor (shapes, dtypes, size 0)', async () => {
    expect(await vals(zeros([2, 2]))).toEqual([0, 0, 0, 0]);
    expect(await vals(ones([3]))).toEqual([1, 1, 1]);
    expect(await vals(full([2], -2.5))).toEqual([-2.5, -2.5]);
    const fi = full([2], 7, { dtype: 'int32' });
    expect(fi.dtype).toBe('int32');
    expect(await fi.data()).toBeInstanceOf(Int32Array);
    expect(await vals(eye(2, 3))).toEqual([1, 0, 0, 0, 1, 0]);
    expect((await zeros([0, 3]).data()).length).toBe(0);
    expect(zeros([0, 3]).shape).toEqual([0, 3]);
    const s = tensor(4.5);
    expect(s.shape).toEqual([]);
    expect(await s.item()).toBe(4.5);
    expect(await tensor([[1, 2], [3, 4]]).array()).toEqual([[1, 2], [3, 4]]);
    expect(tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(tensor([]).shape).toEqual([0]);
    const c = ones([2], { backend: 'cpu', dtype: 'float64' });
    expect(await c.data()).toBeInstanceOf(Float64Array);
  });

  it('arange: ints by default, floats with a float step, empty ranges', async () => {
    const a = arange(5);
    expect(a.dtype).toBe('int32');
    expect(await vals(a)).toEqual([0, 1, 2, 3, 4]);
    expect(await vals(arange(2, 11, 3))).toEqual([2, 5, 8]);
    expect(await vals(arange(3, 0, -1))).toEqual([3, 2, 1]);
    const f = arange(0, 1, 0.25);
    expect(f.dtype).toBe('float32');
    expect(await vals(f)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(arange(3, 3).shape).toEqual([0]);
    expect(() => arange(0, 1, 0)).toThrow(/step/);
  });

  it('to() moves tensors between backends', async () => {
    const g = tensor([1.5, -2, 3]);
    const c = await to(g, 'cpu', 'float64');
    expect(c.backend.name).toBe('cpu');
    expect(c.dtype).toBe('float64');
    const back = await to(c.mul(2), 'default', 'float32');
    expect(back.backend.name).toBe('webgpu');
    expect(await vals(back)).toEqual([3, -4, 6]);
  });
});

describe('Philox RNG', () => {
  it('matches the Random123 known-answer vectors (philox4x32-10)', () => {
    const hex = (v: number[]) => v.map((x) => x.toString(16).padStart(8, '0'));
    expect(hex(philox4x32(0, 0, 0, 0, 0, 0))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    const f = 0xffffffff;
    expect(hex(philox4x32(f, f, f, f, f, f))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toEqual([
      'd16cfe09', '94fdcceb', '5001e420', '24126ea1',
    ]);
    expect(toUnit(0)).toBeGreaterThan(0);
    expect(toUnit(0xffffffff)).toBeLessThan(1);
    expect(Math.fround(toUnit(0xffffffff))).toBeLessThan(1);
  });

  it('rand is bit-identical on the device and the CPU reference', async () => {
    manualSeed(42);
    const g = Array.from(await rand([1023]).data());
    manualSeed(42);
    const c = await rand([1023], { backend: 'cpu' }).data();
    expect(g).toEqual(Array.from(c));
    const mean = g.reduce((p, v) => p + v, 0) / g.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(Math.min(...g)).toBeGreaterThan(0);
    expect(Math.max(...g)).toBeLessThan(1);
    // Ranges, and a float64 CPU stream equal to the float32 one (the uniforms are exact in both).
    manualSeed(9);
    const r = await rand([64], { low: -2, high: 6 }).data();
    manualSeed(9);
    const r64 = await rand([64], { low: -2, high: 6, backend: 'cpu', dtype: 'float64' }).data();
    r.forEach((v, i) => expect(v).toBeCloseTo(r64[i], 5));
  });

  it('randn agrees to float32 precision and looks normal', async () => {
    manualSeed(7);
    const g = Array.from(await randn([4096], { mean: 1, std: 2 }).data());
    manualSeed(7);
    const c = Array.from(await randn([4096], { mean: 1, std: 2, backend: 'cpu', dtype: 'float64' }).data());
    for (let i = 0; i < g.length; i++) expect(Math.abs(g[i] - c[i])).toBeLessThan(1e-4 * (1 + Math.abs(c[i])));
    const m = c.reduce((p, v) => p + v, 0) / c.length;
    const sd = Math.sqrt(c.reduce((p, v) => p + (v - m) ** 2, 0) / c.length);
    expect(Math.abs(m - 1)).toBeLessThan(0.1);
    expect(Math.abs(sd - 2)).toBeLessThan(0.1);
  });

  it('seeds reproduce, draws advance, generators are independent, counters carry past 2^32', async () => {
    manualSeed(1);
    const a = await vals(rand([5]));
    const b = await vals(rand([5]));
    manualSeed(1);
    expect(await vals(rand([5]))).toEqual(a);
    expect(b).not.toEqual(a);
    const gen = new Generator(123);
    const x = await vals(rand([4], { generator: gen }));
    rand([10]); // the default generator does not disturb gen
    const gen2 = new Generator(123);
    expect(await vals(rand([4], { generator: gen2 }))).toEqual(x);
    // Counter crossing 2^32 inside one draw, and a seed above 2^32.
    for (const backend of ['default', 'cpu'] as const) {
      const g1 = new Generator(2 ** 40 + 5);
      g1.counter = 2 ** 32 - 3;
      const v = await vals(rand([6], { generator: g1, backend }));
      const expected = Array.from({ length: 6 }, (_, i) => {
        const idx = 2 ** 32 - 3 + i;
        const [r0] = philox4x32(idx >>> 0, Math.floor(idx / 2 ** 32), 0, 0, 5, 2 ** 8);
        return Math.fround(toUnit(r0));
      });
      expect(v).toEqual(expected);
    }
  });

  it('dropout masks are identical on both backends', async () => {
    manualSeed(5);
    const g = await dropout(ones([2000]), 0.3).data();
    manualSeed(5);
    const c = await dropout(ones([2000], { backend: 'cpu' }), 0.3).data();
    expect(Array.from(g)).toEqual(Array.from(c));
    const kept = g.filter((v) => v !== 0).length / g.length;
    expect(kept).toBeGreaterThan(0.65);
    expect(kept).toBeLessThan(0.75);
    expect(g.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
  });
});

describe('ndarray interop', () => {
  it('fromNdarray copies any strides; toNdarray reads back', async () => {
    const nd = ndarray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]).transpose(1, 0); // [3, 2] view
    const t = fromNdarray(nd);
    expect(t.shape).toEqual([3, 2]);
    expect(t.dtype).toBe('float32');
    expect(await vals(t)).toEqual([1, 4, 2, 5, 3, 6]);
    const back = await toNdarray(t.mul(2));
    expect(back.shape).toEqual([3, 2]);
    expect(back.get(2, 1)).toBe(12);
    const i = fromNdarray(ndarray(new Int32Array([7, 8]), [2]));
    expect(i.dtype).toBe('int32');
    expect(await vals(i)).toEqual([7, 8]);
    const c = fromNdarray(nd, { backend: 'cpu', dtype: 'float64' });
    expect(c.dtype).toBe('float64');
    expect((await toNdarray(c)).get(0, 1)).toBe(4);
    expect(fromNdarray(ndarray(new Float32Array(0), [0, 4])).shape).toEqual([0, 4]);
    expect(gpuRuntime()).not.toBeNull();
  });
});
