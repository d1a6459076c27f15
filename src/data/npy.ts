/**
 * numpy's .npy and .npz formats (format versions 1.0, 2.0 and 3.0).
 *
 * Read: bool, int8/16/32/64, uint8/16/32/64, float16/32/64 in either byte order, C or
 * Fortran order (returned in C order), 0-d and size-0 arrays, and object arrays holding a
 * pickle (only with `allowPickle: true`, like numpy). Write: little-endian C-order .npy with
 * numpy's own header layout (byte-identical to np.save), and stored .npz.
 *
 * Browser-safe: compressed .npz entries are inflated by an injected function
 * (`nodeInflateRaw` in npy.node.ts) or by `readNpzAsync` using DecompressionStream.
 */
import {
  DTYPE_BYTES,
  type NdArrayLike,
  type NumericDType,
  describeShape,
  elementCount,
  fortranToC,
  allocateTypedArray,
  isObjectArray,
  typedArrayFromBytes,
  typedArrayToBytes,
  validateNdArray,
} from './ndarray.js';
import { type UnpickleOptions, unpickle } from './pickle.js';
import { type InflateRaw, readZip, readZipAsync, writeZipStored } from './zip.js';

export type { NdArrayLike, NumericDType, ObjectArray } from './ndarray.js';
export type { InflateRaw } from './zip.js';

export class NpyError extends Error {
  override name = 'NpyError';
}

export interface ReadNpyOptions {
  /** Unpickle object arrays (as np.load(allow_pickle=True)); never executes code. */
  allowPickle?: boolean;
  /** Limits for the unpickler. */
  pickle?: UnpickleOptions;
  /** Label for error messages, e.g. the file name. */
  what?: string;
}

export interface NpyHeader {
  version: [number, number];
  /** The descr string as written, e.g. '<f4', '|O'. */
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset where the array data starts. */
  dataOffset: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const MAX_HEADER_BYTES = 1 << 20;

// ---- header --------------------------------------------------------------------------

/** Parses and validates the header of a .npy file. */
export function readNpyHeader(bytes: Uint8Array, what = 'npy'): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyError(`${what}: not a .npy file (bad magic)`);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  let headerLength: number;
  let start: number;
  if (major === 1) {
    headerLength = bytes[8]! | (bytes[9]! << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(`${what}: truncated header`);
    headerLength = (bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16)) + bytes[11]! * 0x1000000;
    start = 12;
  } else {
    throw new NpyError(`${what}: unsupported .npy format version ${major}.${minor}`);
  }
  if (headerLength > MAX_HEADER_BYTES) throw new NpyError(`${what}: header of ${headerLength} bytes is implausibly large`);
  if (start + headerLength > bytes.length) throw new NpyError(`${what}: truncated header (needs ${headerLength} bytes)`);
  const raw = bytes.subarray(start, start + headerLength);
  let text: string;
  try {
    text = major === 3 ? new TextDecoder('utf-8', { fatal: true }).decode(raw) : latin1(raw);
  } catch {
    throw new NpyError(`${what}: header is not valid UTF-8`);
  }
  let literal: unknown;
  try {
    literal = parsePythonLiteral(text);
  } catch (error) {
    throw new NpyError(`${what}: header is not a Python dict literal (${(error as Error).message})`);
  }
  if (!(literal instanceof Map)) throw new NpyError(`${what}: header is not a dict`);
  const descr = literal.get('descr');
  const fortranOrder = literal.get('fortran_order');
  const shape = literal.get('shape');
  if (Array.isArray(descr)) throw new NpyError(`${what}: structured dtypes are not supported`);
  if (typeof descr !== 'string') throw new NpyError(`${what}: header 'descr' is missing or not a string`);
  if (typeof fortranOrder !== 'boolean') throw new NpyError(`${what}: header 'fortran_order' is missing or not a bool`);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number')) throw new NpyError(`${what}: header 'shape' is missing or not a tuple of ints`);
  for (const key of literal.keys()) {
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') throw new NpyError(`${what}: unexpected header key ${String(key)}`);
  }
  try {
    elementCount(shape as number[], what);
  } catch (error) {
    throw new NpyError((error as Error).message);
  }
  return { version: [major, minor], descr, fortranOrder, shape: shape as number[], dataOffset: start + headerLength };
}

interface ParsedDescr {
  dtype: NumericDType | 'object';
  littleEndian: boolean;
}

const DESCR_TYPES: Record<string, NumericDType> = {
  b1: 'bool',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
};

function parseDescr(descr: string, what: string): ParsedDescr {
  const match = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  const type = match ? `${match[2]}${match[3]}` : '';
  if (match && match[2] === 'O') return { dtype: 'object', littleEndian: true };
  const dtype = DESCR_TYPES[type];
  if (!match || !dtype) throw new NpyError(`${what}: unsupported dtype '${descr}'`);
  // '|' (not applicable) and '=' (native) are treated as little-endian, the native order of every supported host.
  return { dtype, littleEndian: match[1] !== '>' };
}

// ---- read ----------------------------------------------------------------------------

export function readNpy(bytes: Uint8Array, options?: ReadNpyOptions & { allowPickle?: false }): NdArrayLike;
export function readNpy(bytes: Uint8Array, options: ReadNpyOptions & { allowPickle: true }): unknown;
export function readNpy(bytes: Uint8Array, options?: ReadNpyOptions): unknown;
/**
 * Reads a .npy file. Numeric arrays come back as NdArrayLike in C order. An object array
 * (only with allowPickle) comes back unpickled: a 0-d object array gives its single item
 * (what `np.load(...).item()` gives, e.g. MM-JDM's feature dicts), others an ObjectArray.
 */
export function readNpy(bytes: Uint8Array, options: ReadNpyOptions = {}): unknown {
  const what = options.what ?? 'npy';
  const header = readNpyHeader(bytes, what);
  const { dtype, littleEndian } = parseDescr(header.descr, what);
  const count = elementCount(header.shape, what);
  if (dtype === 'object') {
    if (!options.allowPickle) throw new NpyError(`${what}: object array holds a pickle; pass { allowPickle: true } to read it`);
    const value = unpickle(bytes.subarray(header.dataOffset), { what, ...options.pickle });
    if (!isObjectArray(value)) return value;
    if (value.data.length !== count) {
      throw new NpyError(`${what}: header shape ${describeShape(header.shape)} disagrees with the pickled array ${describeShape(value.shape)}`);
    }
    return header.shape.length === 0 ? value.data[0] : value;
  }
  const available = bytes.length - header.dataOffset;
  const needed = count * DTYPE_BYTES[dtype];
  if (available !== needed) {
    const problem = available < needed ? 'truncated' : 'has trailing bytes';
    throw new NpyError(`${what}: data ${problem}: ${header.descr} ${describeShape(header.shape)} needs ${needed} bytes, file has ${available}`);
  }
  let data = typedArrayFromBytes(dtype, bytes, header.dataOffset, count, littleEndian);
  if (header.fortranOrder) data = fortranToC(data, header.shape, (n) => allocateTypedArray(dtype, n));
  return { dtype, shape: [...header.shape], data } satisfies NdArrayLike;
}

/** Reads a pickled .npy (e.g. MM-JDM's `*_VST.npy`) and returns the unpickled value. */
export function readPickledNpy(bytes: Uint8Array, options: Omit<ReadNpyOptions, 'allowPickle'> = {}): unknown {
  return readNpy(bytes, { ...options, allowPickle: true });
}

// ---- write ---------------------------------------------------------------------------

const NUMPY_DESCR: Record<NumericDType, string | undefined> = {
  bool: '|b1',
  int8: '|i1',
  uint8: '|u1',
  int16: '<i2',
  uint16: '<u2',
  int32: '<i4',
  uint32: '<u4',
  int64: '<i8',
  uint64: '<u8',
  float16: '<f2',
  bfloat16: undefined,
  float32: '<f4',
  float64: '<f8',
};

/**
 * Writes a little-endian C-order .npy (version 1.0, or 2.0 if the header needs it), laid
 * out exactly as np.save does: header padded with spaces (room for the first axis to grow)
 * to a 64-byte boundary.
 */
export function writeNpy(arr: NdArrayLike): Uint8Array {
  validateNdArray(arr, 'writeNpy');
  const descr = NUMPY_DESCR[arr.dtype];
  if (!descr) throw new NpyError(`writeNpy: numpy has no ${arr.dtype} dtype`);
  const shapeRepr = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  // numpy reserves room so the first axis can later grow to 21 digits in place.
  if (arr.shape.length > 0) header += ' '.repeat(Math.max(0, 21 - String(arr.shape[0]).length));
  let prefixLength = 10;
  let padding = 64 - ((prefixLength + header.length + 1) % 64);
  let major = 1;
  if (header.length + 1 + padding > 0xffff) {
    major = 2;
    prefixLength = 12;
    padding = 64 - ((prefixLength + header.length + 1) % 64);
  }
  header += `${' '.repeat(padding)}\n`;
  const data = typedArrayToBytes(arr.data, true);
  const out = new Uint8Array(prefixLength + header.length + data.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const length = header.length;
  out[8] = length & 0xff;
  out[9] = (length >> 8) & 0xff;
  if (major === 2) {
    out[10] = (length >> 16) & 0xff;
    out[11] = (length >>> 24) & 0xff;
  }
  for (let i = 0; i < header.length; i++) out[prefixLength + i] = header.charCodeAt(i);
  out.set(data, prefixLength + header.length);
  return out;
}

// ---- npz -----------------------------------------------------------------------------

export interface ReadNpzOptions extends ReadNpyOptions {
  /** Inflates deflated entries (np.savez_compressed); see npy.node.ts `nodeInflateRaw`. */
  inflateRaw?: InflateRaw | undefined;
  /** Refuse archives expanding to more than this many bytes (default 1 GiB). */
  maxUncompressedBytes?: number | undefined;
}

export function readNpz(bytes: Uint8Array, options?: ReadNpzOptions & { allowPickle?: false }): Record<string, NdArrayLike>;
export function readNpz(bytes: Uint8Array, options: ReadNpzOptions & { allowPickle: true }): Record<string, unknown>;
export function readNpz(bytes: Uint8Array, options?: ReadNpzOptions): Record<string, unknown>;
/** Reads an .npz archive: one array per `<name>.npy` entry, keyed by `<name>`. */
export function readNpz(bytes: Uint8Array, options: ReadNpzOptions = {}): Record<string, unknown> {
  const what = options.what ?? 'npz';
  const files = readZip(bytes, { inflateRaw: options.inflateRaw, maxUncompressedBytes: options.maxUncompressedBytes, what });
  return npzEntries(files, options, what);
}

/** readNpz for browsers: deflated entries are inflated with DecompressionStream. */
export async function readNpzAsync(bytes: Uint8Array, options: Omit<ReadNpzOptions, 'inflateRaw'> = {}): Promise<Record<string, unknown>> {
  const what = options.what ?? 'npz';
  const files = await readZipAsync(bytes, { maxUncompressedBytes: options.maxUncompressedBytes, what });
  return npzEntries(files, options, what);
}

function npzEntries(files: Map<string, Uint8Array>, options: ReadNpyOptions, what: string): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [name, data] of files) {
    const key = name.endsWith('.npy') ? name.slice(0, -4) : name;
    out[key] = readNpy(data, { ...options, what: `${what}:${name}` });
  }
  return out;
}

/** Writes an uncompressed .npz (like np.savez). */
export function writeNpz(arrays: Record<string, NdArrayLike>): Uint8Array {
  return writeZipStored(Object.entries(arrays).map(([name, arr]) => [`${name}.npy`, writeNpy(arr)] as const));
}

// ---- a tiny Python literal parser (the header is `repr(dict)`; never eval'ed) -----------

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
}

/** Parses dicts, tuples, lists, strings, ints, True/False/None. Depth-limited. */
export function parsePythonLiteral(text: string): unknown {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const fail = (message: string): never => {
    throw new Error(`${message} at character ${pos}`);
  };
  const parseValue = (depth: number): unknown => {
    if (depth > 32) fail('nesting too deep');
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const map = new Map<unknown, unknown>();
      for (;;) {
        skipSpace();
        if (text[pos] === '}') {
          pos++;
          return map;
        }
        const key = parseValue(depth + 1);
        skipSpace();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        map.set(key, parseValue(depth + 1));
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') fail("expected ',' or '}'");
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      pos++;
      const items: unknown[] = [];
      for (;;) {
        skipSpace();
        if (text[pos] === close) {
          pos++;
          return items;
        }
        items.push(parseValue(depth + 1));
        skipSpace();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      pos++;
      let out = '';
      while (pos < text.length && text[pos] !== c) {
        if (text[pos] === '\\') {
          pos++;
          const e = text[pos];
          if (e === undefined) fail('unterminated escape');
          out += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        } else {
          out += text[pos];
        }
        pos++;
      }
      if (pos >= text.length) fail('unterminated string');
      pos++;
      return out;
    }
    const word = /^(True|False|None|[-+]?\d+L?)/.exec(text.slice(pos, pos + 32));
    if (!word) return fail('unexpected token');
    pos += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    const value = Number(word[0].replace(/L$/, ''));
    if (!Number.isSafeInteger(value)) fail('integer out of range');
    return value;
  };
  const value = parseValue(0);
  skipSpace();
  if (pos !== text.length) fail('trailing characters');
  return value;
}
