/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON header, then the tensor bytes.
 *
 * Encoding follows the reference implementation byte for byte: tensors ordered by dtype
 * (widest first, as its Dtype enum orders them) then name, compact JSON with
 * `__metadata__` first (its keys sorted here, for reproducible files), header padded
 * with spaces to a multiple of 8.
 *
 * Decoding validates what a hostile file could get wrong: header size and JSON shape,
 * dtypes, shape/byte-size agreement, and that the tensors tile the data section exactly
 * (sorted by offset: start at 0, contiguous, no overlap, ending at the end of the file).
 * F16 and BF16 tensors are returned as raw bits in a Uint16Array; encode accepts those
 * or a Float32Array (rounded to nearest even).
 */
import {
  type NumericData,
  type NumericDType,
  elementCount,
  floatToBfloat16Bits,
  floatToHalfBits,
  typedArrayFromBytes,
  typedArrayToBytes,
} from './ndarray.js';

export type SafetensorsDType = 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64';

export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: NumericData;
}

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** Order of the reference implementation's Dtype enum (used to sort tensors when writing). */
const DTYPE_RANK: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 5,
  U16: 6,
  F16: 7,
  BF16: 8,
  I32: 9,
  U32: 10,
  F32: 11,
  F64: 12,
  I64: 13,
  U64: 14,
};

const TO_NUMERIC: Readonly<Record<SafetensorsDType, NumericDType>> = {
  BOOL: 'bool',
  U8: 'uint8',
  I8: 'int8',
  I16: 'int16',
  U16: 'uint16',
  F16: 'float16',
  BF16: 'bfloat16',
  I32: 'int32',
  U32: 'uint32',
  F32: 'float32',
  F64: 'float64',
  I64: 'int64',
  U64: 'uint64',
};

const EXPECTED_ARRAY: Readonly<Record<SafetensorsDType, string>> = {
  BOOL: 'Uint8Array',
  U8: 'Uint8Array',
  I8: 'Int8Array',
  I16: 'Int16Array',
  U16: 'Uint16Array',
  F16: 'Uint16Array',
  BF16: 'Uint16Array',
  I32: 'Int32Array',
  U32: 'Uint32Array',
  F32: 'Float32Array',
  F64: 'Float64Array',
  I64: 'BigInt64Array',
  U64: 'BigUint64Array',
};

const BYTES: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The reference implementation's cap on header size. */
const MAX_HEADER_BYTES = 100_000_000;

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(BYTES, value);
}

function tensorBytes(name: string, tensor: SafetensorsTensor): Uint8Array {
  const { dtype, shape, data } = tensor;
  if (!isDType(dtype)) throw new SafetensorsError(`tensor '${name}': unsupported dtype ${String(dtype)}`);
  const count = elementCount(shape, `tensor '${name}'`);
  let values: NumericData = data;
  if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Float32Array) {
    const bits = new Uint16Array(data.length);
    const convert = dtype === 'F16' ? floatToHalfBits : floatToBfloat16Bits;
    for (let i = 0; i < data.length; i++) bits[i] = convert(data[i]!);
    values = bits;
  }
  if (values?.constructor?.name !== EXPECTED_ARRAY[dtype]) {
    throw new SafetensorsError(`tensor '${name}': dtype ${dtype} needs a ${EXPECTED_ARRAY[dtype]}, got ${data?.constructor?.name ?? typeof data}`);
  }
  if (values.length !== count) {
    throw new SafetensorsError(`tensor '${name}': shape [${shape.join(', ')}] needs ${count} elements, data has ${values.length}`);
  }
  return typedArrayToBytes(values, true);
}

/** Serializes tensors (and optional string metadata) to safetensors bytes. */
export function encodeSafetensors(tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors);
  if (names.includes('__metadata__')) throw new SafetensorsError("'__metadata__' is reserved and cannot name a tensor");
  const entries = names.map((name) => ({ name, tensor: tensors[name]!, bytes: tensorBytes(name, tensors[name]!) }));
  entries.sort((a, b) => DTYPE_RANK[b.tensor.dtype] - DTYPE_RANK[a.tensor.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // Built by hand so key order is exactly: __metadata__, then tensors in data order.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort();
    for (const key of keys) {
      if (typeof metadata[key] !== 'string') throw new SafetensorsError(`metadata '${key}' must be a string`);
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const { name, tensor, bytes } of entries) {
    const end = offset + bytes.length;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padding = (8 - (json.length % 8)) % 8;
  const headerLength = json.length + padding;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 0x100000000, true);
  view.setUint32(4, Math.floor(headerLength / 0x100000000), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let p = 8 + headerLength;
  for (const { bytes } of entries) {
    out.set(bytes, p);
    p += bytes.length;
  }
  return out;
}

/** Parses and validates safetensors bytes. `what` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors'): SafetensorsFile {
  const fail = (message: string): never => {
    throw new SafetensorsError(`${what}: ${message}`);
  };
  if (bytes.length < 8) fail(`file of ${bytes.length} bytes is too short for a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true) * 0x100000000 + view.getUint32(0, true);
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + headerLength > bytes.length) fail(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  if (headerLength < 2 || bytes[8] !== 0x7b) fail("header does not start with '{'");

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    fail(`header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const found: Array<{ name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }> = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [key, value] of Object.entries(info as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`__metadata__ value '${key}' is not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    if (typeof info !== 'object' || info === null) fail(`tensor '${name}' entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDType(dtype)) fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}' has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor '${name}' has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) fail(`tensor '${name}' data_offsets [${begin}, ${end}] are outside the ${dataLength}-byte data section`);
    let count = 0;
    try {
      count = elementCount(shape as number[], `tensor '${name}'`);
    } catch (error) {
      fail((error as Error).message);
    }
    const expected = count * BYTES[dtype as SafetensorsDType];
    if (end - begin !== expected) fail(`tensor '${name}' ${String(dtype)} [${(shape as number[]).join(', ')}] needs ${expected} bytes, data_offsets span ${end - begin}`);
    found.push({ name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end });
  }

  // The data section must be covered exactly once: no gaps, no overlaps, nothing left over.
  const byOffset = [...found].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of byOffset) {
    if (t.begin !== cursor) fail(t.begin < cursor ? `tensor '${t.name}' overlaps the previous tensor` : `gap before tensor '${t.name}' (offset ${cursor} to ${t.begin})`);
    cursor = t.end;
  }
  if (cursor !== dataLength) fail(`data section has ${dataLength - cursor} unused trailing bytes`);

  const tensors: Record<string, SafetensorsTensor> = Object.create(null) as Record<string, SafetensorsTensor>;
  for (const t of found) {
    const numeric = TO_NUMERIC[t.dtype];
    const data = typedArrayFromBytes(numeric, bytes, dataStart + t.begin, (t.end - t.begin) / BYTES[t.dtype], true);
    tensors[t.name] = { dtype: t.dtype, shape: [...t.shape], data };
  }
  return { tensors, metadata };
}

/** The NumericDType (ndarray.ts naming) of a safetensors dtype. */
export function safetensorsToNumericDType(dtype: SafetensorsDType): NumericDType {
  return TO_NUMERIC[dtype];
}
