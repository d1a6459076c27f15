// Bad input: ShapeError naming the argument and the shapes.
import { describe, expect, it } from 'vitest';
import { crossAttention, MultiHeadCrossAttention, ShapeError, tensor, zeros } from '../../src/index.js';

describe('crossAttention argument errors', () => {
  // tensors are made inside each test (the device is initialized in beforeAll)
  const q = () => zeros([2, 3, 8]);
  const k = () => zeros([2, 5, 8]);
  const v = () => zeros([2, 5, 8]);
  const cases: [string, () => unknown, RegExp][] = [
    ['D not divisible by heads', () => crossAttention(q(), k(), v(), { heads: 3 }), /D = 8 .*q \[2, 3, 8\].*not divisible by heads = 3/],
    ['batch mismatch', () => crossAttention(q(), zeros([3, 5, 8]), zeros([3, 5, 8]), { heads: 2 }), /batch sizes differ: q \[2, 3, 8\], k \[3, 5, 8\], v \[3, 5, 8\]/],
    ['Tk mismatch', () => crossAttention(q(), k(), zeros([2, 4, 8]), { heads: 2 }), /k and v must have the same length Tk: .*k \[2, 5, 8\], v \[2, 4, 8\]/],
    ['k width', () => crossAttention(q(), zeros([2, 5, 6]), zeros([2, 5, 6]), { heads: 2 }), /model dimension D = 8 of q/],
    ['rank', () => crossAttention(zeros([3, 8]), k(), v(), { heads: 2 }), /q must be 3-D \[B, T, D\], got q \[3, 8\]/],
    ['mask shape', () => crossAttention(q(), k(), v(), { heads: 2, keyMask: tensor(new Int32Array(10), [5, 2]) }), /keyMask must be \[B, Tk\] = \[2, 5\], got \[5, 2\]/],
    ['mask dtype', () => crossAttention(q(), k(), v(), { heads: 2, keyMask: zeros([2, 5]) }), /keyMask must be int32 \[B, Tk\] = \[2, 5\], got float32 \[2, 5\]/],
    ['int32 q', () => crossAttention(tensor(new Int32Array(48), [2, 3, 8]), k(), v(), { heads: 2 }), /q must be a float tensor/],
    ['dropout range', () => crossAttention(q(), k(), v(), { heads: 2, dropout: 1 }), /dropout must be in \[0, 1\)/],
    ['heads', () => crossAttention(q(), k(), v(), { heads: 0 }), /heads must be a positive integer/],
  ];
  for (const [name, fn, re] of cases) {
    it(name, () => {
      expect(fn).toThrow(ShapeError);
      expect(fn).toThrow(re);
    });
  }
  it('module: dModel not divisible by heads, wrong query width', () => {
    expect(() => new MultiHeadCrossAttention(10, 3)).toThrow(ShapeError);
    const m = new MultiHeadCrossAttention(8, 2);
    expect(() => m.forward(zeros([2, 3, 6]))).toThrow(/query must be \[B, Tq, 8\]/);
    expect(() => m.forward(q(), zeros([2, 5, 4]))).toThrow(/context must be \[B, Tk, 8\]/);
  });
});
