import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { halfBitsToFloat, toFloat32Array, type NdArrayLike, type ObjectArray } from '../../src/data/ndarray.js';
import { readNpy, readNpyHeader, readNpz, readNpzAsync, writeNpy, writeNpz } from '../../src/data/npy.js';
import { nodeInflateRaw, readNpyFile, readNpzFile } from '../../src/data/npy.node.js';
import { FIXTURES, fixtureBytes, fixtureJson, flatValues } from './fixtures.js';

interface ExpectedArray {
  descr: string;
  dtype: string;
  shape: number[];
  fortran: boolean;
  values: Array<number | string | boolean>;
}
const expected = fixtureJson<Record<string, ExpectedArray>>('npy', 'expected.json');
const numericNames = Object.keys(expected).filter((name) => name !== 'object_dict');

function comparable(arr: NdArrayLike): Array<number | string | boolean> {
  if (arr.dtype === 'bool') return Array.from(arr.data as Uint8Array, (v) => v === 1);
  if (arr.dtype === 'float16') return Array.from(arr.data as Uint16Array, halfBitsToFloat);
  if (arr.dtype === 'float32') return Array.from(arr.data as Float32Array); // JSON holds the float32 value widened to double
  return flatValues(arr.data as ArrayLike<number | bigint>);
}

describe('readNpy against numpy-written fixtures', () => {
  it('covers every fixture file', () => {
    const files = readdirSync(join(FIXTURES, 'npy')).filter((f) => f.endsWith('.npy'));
    expect(files.length).toBeGreaterThanOrEqual(numericNames.length + 3);
  });

  it.each(numericNames)('%s', (name) => {
    const want = expected[name]!;
    const arr = readNpy(fixtureBytes('npy', `${name}.npy`));
    expect(arr.dtype).toBe(want.dtype);
    expect(arr.shape).toEqual(want.shape);
    expect(comparable(arr)).toEqual(want.values);
  });

  it('reads the header fields, including fortran order and format versions 2 and 3', () => {
    expect(readNpyHeader(fixtureBytes('npy', 'fortran_f4.npy'))).toMatchObject({ descr: '<f4', fortranOrder: true, shape: [2, 3, 4], version: [1, 0] });
    expect(readNpyHeader(fixtureBytes('npy', 'v2_f4.npy')).version).toEqual([2, 0]);
    expect(readNpyHeader(fixtureBytes('npy', 'v3_f8.npy')).version).toEqual([3, 0]);
    expect(readNpyHeader(fixtureBytes('npy', 'be_i8.npy')).descr).toBe('>i8');
  });

  it('keeps NaN, infinities and negative zero', () => {
    const data = readNpy(fixtureBytes('npy', 'special_f4.npy')).data as Float32Array;
    expect(Number.isNaN(data[0])).toBe(true);
    expect(data[1]).toBe(Infinity);
    expect(data[2]).toBe(-Infinity);
    expect(Object.is(data[3], -0)).toBe(true);
  });

  it('converts every dtype to float32 values', () => {
    expect(Array.from(toFloat32Array(readNpy(fixtureBytes('npy', 'le_f2.npy'))))).toEqual([0.5, -1.25, 65504, 2 ** -24, 0, -2]);
    expect(Array.from(toFloat32Array(readNpy(fixtureBytes('npy', 'be_i2.npy'))))).toEqual(expected.be_i2!.values);
  });
});

describe('pickled object arrays', () => {
  it('refuses object arrays unless allowPickle is set, like numpy', () => {
    expect(() => readNpy(fixtureBytes('npy', 'object_dict.npy'))).toThrow(/allowPickle/);
  });

  it('returns the dict held by a 0-d object array (MM-JDM feature files)', () => {
    const value = readNpy(fixtureBytes('npy', 'object_dict.npy'), { allowPickle: true });
    expect(value).toBeInstanceOf(Map);
    const dict = value as Map<string, NdArrayLike>;
    const want = expected.object_dict as unknown as Record<string, { shape: number[]; values: number[] }>;
    expect([...dict.keys()]).toEqual(Object.keys(want));
    for (const [key, arr] of dict) {
      expect(arr.dtype).toBe('float32');
      expect(arr.shape).toEqual(want[key]!.shape);
      expect(Array.from(arr.data as Float32Array)).toEqual(want[key]!.values);
    }
  });

  it('returns an ObjectArray for a 1-d object array', () => {
    const value = readNpyFile(join(FIXTURES, 'npy', 'object_1d.npy'), { allowPickle: true }) as ObjectArray;
    expect(value.dtype).toBe('object');
    expect(value.shape).toEqual([4]);
    expect(value.data).toEqual([1, 'two', null, 2.5]);
  });
});

describe('writeNpy', () => {
  it('writes the same bytes as np.save for little-endian C-order arrays', () => {
    for (const name of ['le_f4', 'le_f8', 'le_i4', 'le_i8', 'le_u1', 'le_b1', 'le_f2', 'le_i1', 'scalar_f8', 'empty_f4', 'empty_i4']) {
      const original = fixtureBytes('npy', `${name}.npy`);
      expect(Buffer.from(writeNpy(readNpy(original))).equals(Buffer.from(original)), name).toBe(true);
    }
  });

  it('round-trips big-endian and Fortran arrays through C-order little-endian output', () => {
    for (const name of ['be_f8', 'be_i8', 'be_u8', 'fortran_f4', 'fortran_i4', 'be_f2']) {
      const arr = readNpy(fixtureBytes('npy', `${name}.npy`));
      const again = readNpy(writeNpy(arr));
      expect(again.shape).toEqual(arr.shape);
      expect(again.dtype).toBe(arr.dtype);
      expect(flatValues(again.data as ArrayLike<number>)).toEqual(flatValues(arr.data as ArrayLike<number>));
    }
  });

  it('rejects data that does not match its shape or dtype', () => {
    expect(() => writeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) })).toThrow(/needs 4 elements/);
    expect(() => writeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) })).toThrow(/Float32Array/);
    expect(() => writeNpy({ dtype: 'bfloat16', shape: [1], data: new Uint16Array(1) })).toThrow(/bfloat16/);
  });
});

describe('readNpz', () => {
  const want = fixtureJson<Record<string, ExpectedArray>>('npz', 'expected.json');
  const check = (arrays: Record<string, unknown>, names: string[]): void => {
    expect(Object.keys(arrays).sort()).toEqual(names);
    for (const name of names) {
      const arr = arrays[name] as NdArrayLike;
      expect(arr.shape).toEqual(want[name]!.shape);
      expect(flatValues(arr.data as ArrayLike<number>)).toEqual(want[name]!.values);
    }
  };

  it('reads stored archives without any inflate function', () => {
    check(readNpz(fixtureBytes('npz', 'stored.npz')), ['a', 'b']);
  });

  it('reads compressed archives with the Node inflater', () => {
    check(readNpz(fixtureBytes('npz', 'compressed.npz'), { inflateRaw: nodeInflateRaw }), ['a', 'b', 'c']);
    check(readNpzFile(join(FIXTURES, 'npz', 'compressed.npz')), ['a', 'b', 'c']);
  });

  it('reads compressed archives with DecompressionStream (the browser path)', async () => {
    check(await readNpzAsync(fixtureBytes('npz', 'compressed.npz')), ['a', 'b', 'c']);
  });

  it('explains what to do when a compressed entry has no inflater', () => {
    expect(() => readNpz(fixtureBytes('npz', 'compressed.npz'))).toThrow(/inflateRaw/);
  });

  it('names positional arrays arr_0, arr_1 like numpy', () => {
    expect(Object.keys(readNpz(fixtureBytes('npz', 'positional.npz'))).sort()).toEqual(['arr_0', 'arr_1']);
  });

  it('round-trips through writeNpz', () => {
    const a: NdArrayLike = { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
    const b: NdArrayLike = { dtype: 'int64', shape: [1], data: new BigInt64Array([-5n]) };
    const back = readNpz(writeNpz({ a, b }));
    expect(back.a).toEqual(a);
    expect(back.b).toEqual(b);
  });
});
