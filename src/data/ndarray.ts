/**
 * The n-dimensional array value shared by the .npy/.npz, pickle and safetensors readers:
 * element types (numpy names), byte <-> typed-array conversion with explicit endianness,
 * shape arithmetic with overflow checks, and half-precision helpers.
 *
 * Data is always stored in C (row-major) order. float16 and bfloat16 arrays keep their raw
 * 16-bit patterns in a Uint16Array (JavaScript has no 16-bit float array in Node 20);
 * use `toFloat32Array` to get numbers.
 */

export type NumericDType =
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float16'
  | 'bfloat16'
  | 'float32'
  | 'float64';

export type NumericData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** A numeric n-d array in C order. `bool` is a Uint8Array of 0/1. */
export interface NdArrayLike {
  dtype: NumericDType;
  shape: number[];
  data: NumericData;
}

/** A numpy object (or string) array: the items themselves, in C order. */
export interface ObjectArray {
  dtype: 'object';
  shape: number[];
  data: unknown[];
}

type TypedArrayConstructor = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): NumericData;
  new (length: number): NumericData;
  readonly BYTES_PER_ELEMENT: number;
};

export const DTYPE_BYTES: Readonly<Record<NumericDType, number>> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float16: 2,
  bfloat16: 2,
  float32: 4,
  float64: 8,
};

const DTYPE_CONSTRUCTOR: Readonly<Record<NumericDType, TypedArrayConstructor>> = {
  bool: Uint8Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Largest number of dimensions accepted (numpy's own limit is 64). */
export const MAX_NDIM = 64;

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isNumericDType(value: unknown): value is NumericDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value);
}

/** Number of elements of `shape`; throws (naming `what`) on a bad or overflowing shape. */
export function elementCount(shape: readonly number[], what = 'array'): number {
  if (!Array.isArray(shape)) throw new Error(`${what}: shape must be an array of integers`);
  if (shape.length > MAX_NDIM) throw new Error(`${what}: ${shape.length} dimensions exceed the limit of ${MAX_NDIM}`);
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new Error(`${what}: shape [${shape.join(', ')}] has an invalid dimension ${String(dim)}`);
    }
    count *= dim;
    if (!Number.isSafeInteger(count)) throw new Error(`${what}: shape [${shape.join(', ')}] is too large`);
  }
  return count;
}

/** Checks that `data` is the typed array `dtype` needs and holds exactly prod(shape) items. */
export function validateNdArray(arr: NdArrayLike, what = 'array'): void {
  if (!isNumericDType(arr.dtype)) throw new Error(`${what}: unsupported dtype ${String(arr.dtype)}`);
  const count = elementCount(arr.shape, what);
  const ctor = DTYPE_CONSTRUCTOR[arr.dtype];
  if (!(arr.data instanceof ctor)) {
    throw new Error(`${what}: dtype ${arr.dtype} needs a ${ctor.name}, got ${arr.data?.constructor?.name ?? typeof arr.data}`);
  }
  if (arr.data.length !== count) {
    throw new Error(`${what}: shape [${arr.shape.join(', ')}] needs ${count} elements, data has ${arr.data.length}`);
  }
}

/**
 * Copies `count` elements of `dtype` starting at `bytes[offset]` into a fresh (aligned)
 * typed array, swapping bytes when the stored order differs from the host's.
 */
export function typedArrayFromBytes(
  dtype: NumericDType,
  bytes: Uint8Array,
  offset: number,
  count: number,
  littleEndian: boolean,
): NumericData {
  const size = DTYPE_BYTES[dtype];
  const byteLength = count * size;
  if (!Number.isSafeInteger(byteLength) || offset < 0 || offset + byteLength > bytes.length) {
    throw new Error(`need ${byteLength} bytes of ${dtype} at offset ${offset}, only ${bytes.length - offset} available`);
  }
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(offset, offset + byteLength));
  if (size > 1 && littleEndian !== HOST_IS_LITTLE_ENDIAN) swapBytesInPlace(copy, size);
  const ctor = DTYPE_CONSTRUCTOR[dtype];
  return new ctor(copy.buffer, 0, count);
}

/** The bytes of `data` in the requested byte order (a copy when a swap is needed). */
export function typedArrayToBytes(data: NumericData, littleEndian = true): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const size = data.BYTES_PER_ELEMENT;
  if (size === 1 || littleEndian === HOST_IS_LITTLE_ENDIAN) return view;
  const copy = view.slice();
  swapBytesInPlace(copy, size);
  return copy;
}

function swapBytesInPlace(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** An empty typed array of `count` elements of `dtype`. */
export function allocateTypedArray(dtype: NumericDType, count: number): NumericData {
  return new DTYPE_CONSTRUCTOR[dtype](count);
}

/**
 * Reorders Fortran-ordered (column-major) items into C order. A Fortran buffer of shape s is
 * the C buffer of reversed(s); walking the C multi-index while tracking the Fortran offset
 * keeps this O(n * ndim).
 */
export function fortranToC<T extends { length: number; [i: number]: unknown }>(
  source: T,
  shape: readonly number[],
  make: (length: number) => T,
): T {
  const n = source.length;
  const ndim = shape.length;
  if (ndim < 2 || n === 0) return source;
  const out = make(n);
  const fortranStride: number[] = new Array<number>(ndim);
  let stride = 1;
  for (let d = 0; d < ndim; d++) {
    fortranStride[d] = stride;
    stride *= shape[d]!;
  }
  const index = new Array<number>(ndim).fill(0);
  let fortranOffset = 0;
  for (let c = 0; c < n; c++) {
    out[c] = source[fortranOffset];
    for (let d = ndim - 1; d >= 0; d--) {
      index[d]!++;
      fortranOffset += fortranStride[d]!;
      if (index[d]! < shape[d]!) break;
      fortranOffset -= fortranStride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** Converts any numeric array to float32 values (float16/bfloat16 bit patterns decoded). */
export function toFloat32Array(arr: NdArrayLike): Float32Array {
  const { data, dtype } = arr;
  if (dtype === 'float32') return data as Float32Array;
  const out = new Float32Array(data.length);
  if (dtype === 'float16') {
    const bits = data as Uint16Array;
    for (let i = 0; i < bits.length; i++) out[i] = halfBitsToFloat(bits[i]!);
  } else if (dtype === 'bfloat16') {
    const bits = data as Uint16Array;
    const view = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) view[i] = bits[i]! << 16;
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  } else {
    out.set(data as ArrayLike<number>);
  }
  return out;
}

/** Decodes an IEEE 754 binary16 bit pattern. */
export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Encodes a number as binary16, rounding to nearest even (the same as numpy's astype). */
export function floatToHalfBits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  // Double rounding via float32 is harmless here: float32 -> float16 is what numpy does too
  // for float32 inputs, and float64 inputs only differ in astronomically rare ties.
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** Encodes a number as bfloat16 (upper half of float32), rounding to nearest even. */
export function floatToBfloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function isNdArrayLike(value: unknown): value is NdArrayLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<NdArrayLike>;
  return isNumericDType(v.dtype) && Array.isArray(v.shape) && ArrayBuffer.isView(v.data);
}

export function isObjectArray(value: unknown): value is ObjectArray {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<ObjectArray>;
  return v.dtype === 'object' && Array.isArray(v.shape) && Array.isArray(v.data);
}

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
