import { describe, expect, it } from 'vitest';
import { halfBitsToFloat, toFloat32Array } from '../../src/data/ndarray.js';
import { type SafetensorsTensor, decodeSafetensors, encodeSafetensors, safetensorsToNumericDType } from '../../src/data/safetensors.js';
import { fixtureBytes, fixtureJson, flatValues } from './fixtures.js';

interface Expected {
  metadata: Record<string, string>;
  order: string[];
  tensors: Record<string, { dtype: string; shape: number[]; values: Array<number | string> }>;
  bf16_as_float: number[];
}
const expected = fixtureJson<Expected>('safetensors', 'expected.json');
const fileBytes = fixtureBytes('safetensors', 'model.safetensors');

/** A safetensors file from a header object and a data section, for hand-made corrupt files. */
function craft(header: unknown, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, headerLength ?? json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('decodeSafetensors', () => {
  const { tensors, metadata } = decodeSafetensors(fileBytes);

  it('reads metadata and every tensor of the spec-built fixture', () => {
    expect({ ...metadata }).toEqual(expected.metadata);
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, want] of Object.entries(expected.tensors)) {
      const tensor = tensors[name]!;
      expect(tensor.dtype).toBe(want.dtype);
      expect(tensor.shape).toEqual(want.shape);
      const values = tensor.dtype === 'F16' ? Array.from(tensor.data as Uint16Array, halfBitsToFloat) : flatValues(tensor.data as ArrayLike<number>);
      if (tensor.dtype === 'F32') expect(values).toEqual(want.values.map((v) => Math.fround(v as number)));
      else if (tensor.dtype !== 'BF16') expect(values).toEqual(want.values);
    }
  });

  it('returns BF16 as raw bits that decode to the original floats', () => {
    const bf = tensors.bf!;
    const floats = toFloat32Array({ dtype: safetensorsToNumericDType(bf.dtype), shape: bf.shape, data: bf.data });
    expect(Array.from(floats)).toEqual(expected.bf16_as_float);
  });

  const data16 = new Uint8Array(16);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['a file shorter than the length prefix', new Uint8Array(5), /too short/],
    ['a header length past the end', craft({}, new Uint8Array(0), 1000), /runs past the end/],
    ['a header length over the limit', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(4, 1, true); return b; })(), /exceeds/],
    ['a header that is not JSON', (() => { const b = craft({}, new Uint8Array(0)); b[9] = 0x7b; return b; })(), /not valid UTF-8 JSON/],
    ['a header that is a JSON array', (() => { const j = new TextEncoder().encode('[1]'); const b = new Uint8Array(8 + j.length); b[0] = j.length; b.set(j, 8); return b; })(), /start with '\{'/],
    ['an unknown dtype', craft({ t: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, data16), /unsupported dtype/],
    ['a negative dimension', craft({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /invalid shape/],
    ['offsets past the data', craft({ t: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, data16), /outside/],
    ['a size that disagrees with the shape', craft({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, data16), /needs 12 bytes/],
    ['a gap between tensors', craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data16), /gap before tensor 'b'/],
    ['overlapping tensors', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [3], data_offsets: [4, 16] } }, data16), /overlaps/],
    ['unused trailing bytes', craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, data16), /8 unused trailing bytes/],
    ['a non-string metadata value', craft({ __metadata__: { epoch: 3 } }, new Uint8Array(0)), /not a string/],
  ];
  it.each(cases)('rejects %s', (_, bytes, message) => {
    expect(() => decodeSafetensors(bytes, 'bad.safetensors')).toThrow(message);
    expect(() => decodeSafetensors(bytes, 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
  });
});

describe('encodeSafetensors', () => {
  it('reproduces the spec-built fixture byte for byte', () => {
    const { tensors, metadata } = decodeSafetensors(fileBytes);
    const encoded = encodeSafetensors(tensors, { ...metadata });
    expect(Buffer.from(encoded).equals(Buffer.from(fileBytes))).toBe(true);
  });

  it('orders tensors widest dtype first, then by name, and pads the header to 8 bytes', () => {
    const bytes = encodeSafetensors({
      z: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      b: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      a: { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      big: { dtype: 'I64', shape: [1], data: new BigInt64Array([5n]) },
    });
    const headerLength = new DataView(bytes.buffer).getUint32(0, true);
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { data_offsets: number[] }>;
    expect(Object.keys(header)).toEqual(['big', 'a', 'b', 'z']);
    expect(header.z!.data_offsets).toEqual([16, 19]);
  });

  it('round-trips every dtype and converts Float32Array input for F16/BF16', () => {
    const tensors: Record<string, SafetensorsTensor> = {
      f32: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      f64: { dtype: 'F64', shape: [1], data: new Float64Array([Math.PI]) },
      i32: { dtype: 'I32', shape: [2], data: new Int32Array([-1, 1]) },
      i64: { dtype: 'I64', shape: [1], data: new BigInt64Array([-(2n ** 60n)]) },
      u8: { dtype: 'U8', shape: [0], data: new Uint8Array(0) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([7]) },
    };
    const back = decodeSafetensors(encodeSafetensors(tensors, { note: 'x' }));
    expect(back.tensors).toEqual(tensors);
    expect(back.metadata.note).toBe('x');
    const half = decodeSafetensors(encodeSafetensors({ h: { dtype: 'F16', shape: [3], data: new Float32Array([0.5, -2, 65504]) } })).tensors.h!;
    expect(Array.from(half.data as Uint16Array, halfBitsToFloat)).toEqual([0.5, -2, 65504]);
    const bf = decodeSafetensors(encodeSafetensors({ b: { dtype: 'BF16', shape: [2], data: new Float32Array([1, -0.5]) } })).tensors.b!;
    expect(Array.from(bf.data as Uint16Array)).toEqual([0x3f80, 0xbf00]);
  });

  it('names the tensor when data and dtype or shape disagree', () => {
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/tensor 'w'.*needs 3 elements/);
    expect(() => encodeSafetensors({ w: { dtype: 'F64', shape: [1], data: new Float32Array(1) } })).toThrow(/tensor 'w'.*Float64Array/);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(/reserved/);
  });
});
