import { describe, expect, it } from 'vitest';
import type { NdArrayLike, ObjectArray } from '../../src/data/ndarray.js';
import { PickleError, isPyTuple, pickleDictToRecord, unpickle } from '../../src/data/pickle.js';
import { fixtureBytes } from './fixtures.js';

const files = ['reference_p2', 'reference_p3', 'reference_p4', 'reference_p5', 'reference_p2_other_numpy_names'];

/** Builds a pickle from opcode bytes and strings (strings are latin-1 encoded). */
function pk(...parts: Array<number | string>): Uint8Array {
  const bytes: number[] = [];
  for (const part of parts) {
    if (typeof part === 'number') bytes.push(part);
    else for (const c of part) bytes.push(c.charCodeAt(0));
  }
  return new Uint8Array(bytes);
}

describe.each(files)('unpickle %s', (file) => {
  const value = unpickle(fixtureBytes('pickle', `${file}.pkl`)) as Map<unknown, unknown>;
  const get = (key: unknown): unknown => value.get(key);

  it('returns a dict as a Map with string, int and tuple keys', () => {
    expect(value).toBeInstanceOf(Map);
    expect(get(1)).toBe('int key');
    const tupleKey = [...value.keys()].find((k) => isPyTuple(k));
    expect(tupleKey).toEqual([1, 2]);
    expect(value.get(tupleKey)).toBe('tuple key');
  });

  it('decodes ints (small, negative, beyond 2^53) and floats', () => {
    expect(get('int_small')).toBe(7);
    expect(get('int_neg')).toBe(-123456);
    expect(get('int_big')).toBe(2 ** 40);
    expect(get('int_huge')).toBe(2n ** 70n);
    expect(get('int_neg_huge')).toBe(-(2n ** 65n));
    expect(get('float')).toBe(3.5);
    expect(get('float_neg')).toBe(-0.1);
  });

  it('decodes str, bytes, bytearray, bool and None', () => {
    expect(get('str')).toBe('h\u00e9llo \u2713');
    expect(get('bytes')).toEqual(new Uint8Array([0, 1, 255]));
    expect(get('empty_bytes')).toEqual(new Uint8Array(0));
    expect(get('bytearray')).toEqual(new Uint8Array([97, 98]));
    expect(get('true')).toBe(true);
    expect(get('false')).toBe(false);
    expect(get('none')).toBeNull();
  });

  it('decodes lists, tuples, sets, nested and ordered dicts, and shared references', () => {
    expect(get('list')).toEqual([1, 2.5, 'x']);
    expect(isPyTuple(get('list'))).toBe(false);
    expect(get('tuple')).toEqual([1, 'a']);
    expect(isPyTuple(get('tuple'))).toBe(true);
    expect(get('set')).toEqual(new Set([1, 2, 3]));
    expect(get('frozenset')).toEqual(new Set(['a']));
    const nested = get('nested') as Map<string, Array<Map<string, unknown>>>;
    expect(nested.get('k')![0]!.get('deep')).toEqual([null]);
    expect([...(get('ordered') as Map<string, number>)]).toEqual([['b', 1], ['a', 2]]);
    const shared = get('shared') as unknown[][];
    expect(shared[0]).toBe(shared[1]);
  });

  it('rebuilds numpy arrays in C order with their dtypes', () => {
    const f4 = get('arr_f4') as NdArrayLike;
    expect(f4).toEqual({ dtype: 'float32', shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) });
    expect(get('arr_i8')).toEqual({ dtype: 'int64', shape: [2], data: new BigInt64Array([-1n, 2n ** 40n]) });
    expect(get('arr_f8_fortran')).toEqual({ dtype: 'float64', shape: [2, 3], data: new Float64Array([0, 1, 2, 3, 4, 5]) });
    expect(get('arr_0d')).toEqual({ dtype: 'float64', shape: [], data: new Float64Array([2.5]) });
    expect(get('arr_bool')).toEqual({ dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) });
    expect(get('arr_empty')).toEqual({ dtype: 'float32', shape: [0, 2], data: new Float32Array(0) });
    expect(get('arr_be')).toEqual({ dtype: 'int32', shape: [3], data: new Int32Array([0, 1, 2]) });
    expect(get('arr_f2')).toEqual({ dtype: 'float16', shape: [2], data: new Uint16Array([0x3800, 0xc000]) });
  });

  it('rebuilds str and object arrays as ObjectArray', () => {
    expect(get('arr_str')).toEqual({ dtype: 'object', shape: [2], data: ['ab', 'c'] });
    const obj = get('arr_obj') as ObjectArray;
    expect(obj.shape).toEqual([2]);
    expect(obj.data[0]).toEqual(new Map([['x', 1]]));
    expect(obj.data[1]).toBeNull();
  });

  it('decodes numpy scalars to plain numbers and booleans', () => {
    expect(get('scalar_f8')).toBe(1.5);
    expect(get('scalar_i8')).toBe(-7);
    expect(get('scalar_bool')).toBe(true);
    expect(get('scalar_f4')).toBe(0.25);
  });
});

describe('unpickle safety', () => {
  it('refuses unknown globals and names them', () => {
    // GLOBAL os.system, then REDUCE(('ls',)): the classic code-execution pickle.
    const evil = pk(0x80, 2, 'cos\nsystem\n', 'X', 2, 0, 0, 0, 'ls', 0x85, 'R', '.');
    expect(() => unpickle(evil)).toThrow(PickleError);
    expect(() => unpickle(evil)).toThrow(/global 'os\.system' is not allowed/);
    const stackGlobal = pk(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.');
    expect(() => unpickle(stackGlobal)).toThrow(/builtins\.eval/);
  });

  it('refuses instance, persistent-id, extension and out-of-band opcodes', () => {
    expect(() => unpickle(pk('(', 'i', 'os\nsystem\n', '.'))).toThrow(/INST\/OBJ/);
    expect(() => unpickle(pk('P', '1\n', '.'))).toThrow(/persistent/);
    expect(() => unpickle(pk(0x82, 1, '.'))).toThrow(/EXT/);
    expect(() => unpickle(pk(0x80, 5, 0x97, '.'))).toThrow(/NEXT_BUFFER/);
  });

  it('never allocates what the input does not contain', () => {
    // BINUNICODE8 / BINBYTES8 claiming 2^52 bytes.
    expect(() => unpickle(pk(0x8e, 0, 0, 0, 0, 0, 0, 0x10, 0, '.'))).toThrow(/truncated/);
    // bytearray(10**12) would allocate a terabyte: refused.
    expect(() => unpickle(pk(0x80, 2, 'c__builtin__\nbytearray\n', 0x8a, 5, 0, 0x10, 0xa5, 0xd4, 0xe8, 0x85, 'R', '.'))).toThrow(/bytearray/);
    // An ndarray whose shape promises far more data than is present.
    const bigShape = pk(
      0x80, 2,
      'cnumpy.core.multiarray\n_reconstruct\n', 'cnumpy\nndarray\n', 'K', 0, 0x85, 'C', 1, 'b', 0x87, 'R',
      '(', 'K', 1, 'J', 0, 0, 1, 0, 'J', 0, 0, 1, 0, 0x86,
      'cnumpy\ndtype\n', 'X', 2, 0, 0, 0, 'f8', 0x89, 0x88, 0x87, 'R',
      '(', 'K', 3, 'X', 1, 0, 0, 0, '<', 'N', 'N', 'N', 'J', 0xff, 0xff, 0xff, 0xff, 'J', 0xff, 0xff, 0xff, 0xff, 'K', 0, 't', 'b',
      0x89, 'C', 8, 0, 0, 0, 0, 0, 0, 0, 0, 't', 'b', '.',
    );
    expect(() => unpickle(bigShape)).toThrow(/needs \d+ bytes, got 8/);
  });

  it('enforces its memo, nesting and integer limits', () => {
    const manyPuts = pk(0x80, 4, 'N', ...Array.from({ length: 20 }, () => 0x94), '.');
    expect(() => unpickle(manyPuts, { maxMemoEntries: 10 })).toThrow(/memo exceeds 10/);
    const deepMarks = pk(...Array.from({ length: 50 }, () => 0x28), 'N', '.');
    expect(() => unpickle(deepMarks, { maxMarkDepth: 20 })).toThrow(/MARK nesting/);
    const wideLong = pk(0x8b, 0, 0x10, 0, 0, '.');
    expect(() => unpickle(wideLong)).toThrow(/integer of 4096 bytes/);
  });

  it('reports truncation, a missing STOP and stack underflow', () => {
    const full = fixtureBytes('pickle', 'reference_p4.pkl');
    expect(() => unpickle(full.subarray(0, full.length - 1))).toThrow(PickleError);
    expect(() => unpickle(pk(0x80, 2, 'N'))).toThrow(/no STOP/);
    expect(() => unpickle(pk('.'))).toThrow(/underflow/);
    expect(() => unpickle(pk('a', '.'))).toThrow(/underflow/);
    expect(() => unpickle(pk(0x80, 6, 'N', '.'))).toThrow(/protocol 6/);
  });

  it('converts a string-keyed dict to a null-prototype record', () => {
    const record = pickleDictToRecord(new Map([['__proto__', 1], ['a', 2]]), 'test');
    expect(Object.getPrototypeOf(record)).toBeNull();
    expect(record.__proto__).toBe(1);
    expect(() => pickleDictToRecord(new Map([[1, 2]]), 'test')).toThrow(/not a string/);
    expect(() => pickleDictToRecord([], 'test')).toThrow(/expected a dict/);
  });

  it('reads a split list', () => {
    expect(unpickle(fixtureBytes('pickle', 'split_list.pkl'))).toEqual(['JDM01_0001', 'JDM01_0003']);
  });
});
