/**
 * A safe, bounded unpickler for the data files this project reads (numpy's pickled object
 * arrays, MM-JDM's feature dicts and split lists). It interprets pickle protocols 2-5
 * (plus the few numeric protocol-0 opcodes) but never imports or calls anything: the only
 * GLOBALs accepted are a fixed list of constructors it re-implements itself (numpy arrays,
 * dtypes and scalars, sets, bytes, OrderedDict). Any other GLOBAL is an error naming it.
 *
 * Python -> JavaScript values:
 *   dict, OrderedDict -> Map          list -> Array           tuple -> frozen Array
 *   str -> string                     bytes, bytearray -> Uint8Array
 *   int -> number (bigint when beyond 2^53)                   float -> number
 *   bool -> boolean   None -> null    set, frozenset -> Set
 *   numeric ndarray -> NdArrayLike (C order)                  object/str ndarray -> ObjectArray
 *   numpy scalar -> number | bigint | boolean
 *
 * Every allocation is bounded by the input size or by an explicit limit (memo entries,
 * MARK nesting, stack items, integer width), every loop advances through the input, and
 * array shapes are checked against the bytes actually present before anything is allocated.
 */
import {
  DTYPE_BYTES,
  type NdArrayLike,
  type NumericDType,
  type ObjectArray,
  elementCount,
  fortranToC,
  allocateTypedArray,
  typedArrayFromBytes,
  describeShape,
  halfBitsToFloat,
} from './ndarray.js';

export class PickleError extends Error {
  override name = 'PickleError';
}

export interface UnpickleOptions {
  /** Label used in error messages, e.g. the file name. */
  what?: string;
  /** Most memo entries kept (default 1,000,000). */
  maxMemoEntries?: number;
  /** Deepest MARK nesting (default 10,000). */
  maxMarkDepth?: number;
  /** Most items on the working stack (default 10,000,000). */
  maxStackItems?: number;
  /** Widest LONG1/LONG4/LONG integer in bytes (default 1,024). */
  maxIntegerBytes?: number;
}

/** Python tuples come back as frozen arrays; this tells them apart from lists. */
export function isPyTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

type GlobalKind =
  | 'reconstruct'
  | 'ndarray'
  | 'dtype'
  | 'scalar'
  | 'frombuffer'
  | 'codecs_encode'
  | 'set'
  | 'frozenset'
  | 'bytearray'
  | 'bytes'
  | 'ordered_dict';

/** The whole allowlist. Both numpy 1.x (`numpy.core`) and 2.x (`numpy._core`) names. */
const ALLOWED_GLOBALS: ReadonlyMap<string, GlobalKind> = new Map([
  ['numpy.core.multiarray._reconstruct', 'reconstruct'],
  ['numpy._core.multiarray._reconstruct', 'reconstruct'],
  ['numpy.ndarray', 'ndarray'],
  ['numpy.dtype', 'dtype'],
  ['numpy.core.multiarray.scalar', 'scalar'],
  ['numpy._core.multiarray.scalar', 'scalar'],
  ['numpy.core.numeric._frombuffer', 'frombuffer'],
  ['numpy._core.numeric._frombuffer', 'frombuffer'],
  ['_codecs.encode', 'codecs_encode'],
  ['builtins.set', 'set'],
  ['__builtin__.set', 'set'],
  ['builtins.frozenset', 'frozenset'],
  ['__builtin__.frozenset', 'frozenset'],
  ['builtins.bytearray', 'bytearray'],
  ['__builtin__.bytearray', 'bytearray'],
  ['builtins.bytes', 'bytes'],
  ['__builtin__.bytes', 'bytes'],
  ['collections.OrderedDict', 'ordered_dict'],
] as const);

class PyGlobal {
  constructor(
    readonly kind: GlobalKind,
    readonly qualifiedName: string,
  ) {}
}

type ResolvedDType =
  | { kind: 'numeric'; dtype: NumericDType; itemSize: number }
  | { kind: 'object'; itemSize: number }
  | { kind: 'unicode'; itemSize: number }
  | { kind: 'bytes'; itemSize: number };

/** A numpy.dtype under construction: REDUCE gives the type code, BUILD the byte order. */
class PyDType {
  byteOrder = '=';
  constructor(readonly resolved: ResolvedDType) {}
  get littleEndian(): boolean {
    return this.byteOrder !== '>';
  }
  describe(): string {
    return `${this.byteOrder}${this.resolved.kind === 'numeric' ? this.resolved.dtype : this.resolved.kind}`;
  }
}

/** A numpy dtype code as pickled ('f8', 'i4', 'b1', 'O8', 'U5', 'S3'). */
function parseDTypeCode(code: string): ResolvedDType | undefined {
  const match = /^([biufOUS])(\d*)$/.exec(code);
  if (!match) return undefined;
  const kind = match[1]!;
  const size = match[2] === '' ? undefined : Number(match[2]);
  if (kind === 'O') return { kind: 'object', itemSize: size ?? 8 };
  if (size === undefined || !Number.isSafeInteger(size)) return undefined;
  if (kind === 'U') return size > 0 ? { kind: 'unicode', itemSize: size * 4 } : undefined;
  if (kind === 'S') return size > 0 ? { kind: 'bytes', itemSize: size } : undefined;
  const numeric: Record<string, NumericDType> = {
    b1: 'bool',
    i1: 'int8',
    i2: 'int16',
    i4: 'int32',
    i8: 'int64',
    u1: 'uint8',
    u2: 'uint16',
    u4: 'uint32',
    u8: 'uint64',
    f2: 'float16',
    f4: 'float32',
    f8: 'float64',
  };
  const dtype = numeric[`${kind}${size}`];
  return dtype ? { kind: 'numeric', dtype, itemSize: DTYPE_BYTES[dtype] } : undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function latin1ToBytes(text: string, what: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new PickleError(`${what}: character U+${code.toString(16)} cannot be encoded as latin-1`);
    out[i] = code;
  }
  return out;
}

function bytesToLatin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

function normalizeInteger(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Little-endian two's-complement bytes -> integer (Python's LONG1/LONG4 encoding). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let hex = '';
  for (let i = bytes.length - 1; i >= 0; i--) hex += bytes[i]!.toString(16).padStart(2, '0');
  let value = BigInt(`0x${hex}`);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
  return normalizeInteger(value);
}

const ISLATIN1_ENCODINGS = new Set(['latin1', 'latin-1', 'iso-8859-1', 'iso8859-1']);

/** Interprets one pickle. Throws PickleError (naming the offset) on anything unexpected. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): unknown {
  return new Unpickler(bytes, options).load();
}

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private readonly markStack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly pendingArrays = new Set<object>();
  private readonly what: string;
  private readonly maxMemo: number;
  private readonly maxMarkDepth: number;
  private readonly maxStackItems: number;
  private readonly maxIntegerBytes: number;

  constructor(
    private readonly bytes: Uint8Array,
    options: UnpickleOptions,
  ) {
    this.what = options.what ?? 'pickle';
    this.maxMemo = options.maxMemoEntries ?? 1_000_000;
    this.maxMarkDepth = options.maxMarkDepth ?? 10_000;
    this.maxStackItems = options.maxStackItems ?? 10_000_000;
    this.maxIntegerBytes = options.maxIntegerBytes ?? 1024;
  }

  private fail(message: string, at = this.pos): never {
    throw new PickleError(`${this.what}: ${message} (at byte ${at})`);
  }

  // ---- input -------------------------------------------------------------------------
  private need(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || this.pos + n > this.bytes.length) {
      this.fail(`truncated: need ${n} bytes, ${this.bytes.length - this.pos} left`);
    }
  }
  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  private u16(): number {
    this.need(2);
    const v = this.bytes[this.pos]! | (this.bytes[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }
  private i32(): number {
    const v = this.u32();
    return v >= 0x80000000 ? v - 0x100000000 : v;
  }
  private u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) this.fail('64-bit length is too large');
    return v;
  }
  private take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated: unterminated text line');
    const text = bytesToLatin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }
  private utf8(n: number): string {
    this.need(n);
    const start = this.pos;
    this.pos += n;
    try {
      return utf8.decode(this.bytes.subarray(start, start + n));
    } catch {
      return this.fail('string is not valid UTF-8', start);
    }
  }

  // ---- stack -------------------------------------------------------------------------
  private push(value: unknown): void {
    if (this.stack.length >= this.maxStackItems) this.fail(`stack exceeds ${this.maxStackItems} items`);
    this.stack.push(value);
  }
  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const items = this.stack;
    const previous = this.markStack.pop();
    if (previous === undefined) this.fail('MARK expected but missing');
    this.stack = previous;
    return items;
  }
  private memoPut(index: number, value: unknown): void {
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) this.fail(`memo exceeds ${this.maxMemo} entries`);
    this.memo.set(index, value);
  }
  private memoGet(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`memo entry ${index} is missing`);
    return this.memo.get(index);
  }
  private integerBytes(n: number): Uint8Array {
    if (n > this.maxIntegerBytes) this.fail(`integer of ${n} bytes exceeds the limit of ${this.maxIntegerBytes}`);
    return this.take(n);
  }

  // ---- main loop ---------------------------------------------------------------------
  load(): unknown {
    const b = this.bytes;
    while (this.pos < b.length) {
      const at = this.pos;
      const op = b[this.pos++]!;
      switch (op) {
        case 0x80: {
          const protocol = this.u8();
          if (protocol > 5) this.fail(`unsupported pickle protocol ${protocol}`, at);
          break;
        }
        case 0x95: {
          const length = this.u64();
          if (length > b.length - this.pos) this.fail(`FRAME of ${length} bytes runs past the end`, at);
          break;
        }
        case 0x2e: {
          // STOP
          const value = this.pop();
          if (this.pendingArrays.size > 0) this.fail('ndarray was never given its state (BUILD missing)', at);
          return value;
        }
        // -- constants and numbers
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x8a: this.push(decodeLong(this.integerBytes(this.u8()))); break; // LONG1
        case 0x8b: {
          const n = this.i32();
          if (n < 0) this.fail('LONG4 with negative length', at);
          this.push(decodeLong(this.integerBytes(n)));
          break;
        }
        case 0x47: {
          // BINFLOAT: big-endian float64
          this.need(8);
          const view = new DataView(b.buffer, b.byteOffset + this.pos, 8);
          this.pos += 8;
          this.push(view.getFloat64(0, false));
          break;
        }
        case 0x49: {
          // INT (protocol 0): "01"/"00" are True/False
          const text = this.line();
          if (text === '01' || text === '00') this.push(text === '01');
          else this.push(this.parseDecimal(text, at));
          break;
        }
        case 0x4c: {
          // LONG (protocol 0): decimal with optional L suffix
          this.push(this.parseDecimal(this.line().replace(/L$/, ''), at));
          break;
        }
        case 0x46: {
          // FLOAT (protocol 0)
          const text = this.line().trim();
          const value = Number(text);
          if (text === '' || (Number.isNaN(value) && !/^[-+]?nan$/i.test(text))) this.fail(`bad FLOAT literal ${JSON.stringify(text.slice(0, 40))}`, at);
          this.push(value);
          break;
        }
        // -- strings and bytes
        case 0x58: this.push(this.utf8(this.u32())); break; // BINUNICODE
        case 0x8c: this.push(this.utf8(this.u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.push(this.utf8(this.u64())); break; // BINUNICODE8
        case 0x42: this.push(this.take(this.u32())); break; // BINBYTES
        case 0x43: this.push(this.take(this.u8())); break; // SHORT_BINBYTES
        case 0x8e: this.push(this.take(this.u64())); break; // BINBYTES8
        case 0x96: this.push(this.take(this.u64())); break; // BYTEARRAY8
        case 0x54: {
          // BINSTRING (Python 2 str): decoded as latin-1, like pickle.load(encoding='latin1')
          const n = this.i32();
          if (n < 0) this.fail('BINSTRING with negative length', at);
          this.push(bytesToLatin1(this.take(n)));
          break;
        }
        case 0x55: this.push(bytesToLatin1(this.take(this.u8()))); break; // SHORT_BINSTRING
        // -- containers
        case 0x28: {
          // MARK
          if (this.markStack.length >= this.maxMarkDepth) this.fail(`MARK nesting exceeds ${this.maxMarkDepth}`, at);
          this.markStack.push(this.stack);
          this.stack = [];
          break;
        }
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x30: this.pop(); break; // POP
        case 0x32: this.push(this.top()); break; // DUP
        case 0x29: this.push(Object.freeze([])); break; // EMPTY_TUPLE
        case 0x74: this.push(Object.freeze(this.popMark())); break; // TUPLE
        case 0x85: this.push(Object.freeze([this.pop()])); break; // TUPLE1
        case 0x86: {
          const second = this.pop();
          const first = this.pop();
          this.push(Object.freeze([first, second]));
          break;
        }
        case 0x87: {
          const third = this.pop();
          const second = this.pop();
          const first = this.pop();
          this.push(Object.freeze([first, second, third]));
          break;
        }
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x6c: this.push(this.popMark()); break; // LIST
        case 0x61: {
          // APPEND
          const item = this.pop();
          this.listTarget(at).push(item);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          const list = this.listTarget(at);
          for (const item of items) list.push(item);
          break;
        }
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x64: {
          // DICT
          const items = this.popMark();
          if (items.length % 2 !== 0) this.fail('DICT with an odd number of items', at);
          const map = new Map<unknown, unknown>();
          for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
          this.push(map);
          break;
        }
        case 0x73: {
          // SETITEM
          const value = this.pop();
          const key = this.pop();
          this.dictTarget(at).set(key, value);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          if (items.length % 2 !== 0) this.fail('SETITEMS with an odd number of items', at);
          const map = this.dictTarget(at);
          for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
          break;
        }
        case 0x8f: this.push(new Set()); break; // EMPTY_SET
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          const target = this.top();
          if (!(target instanceof Set)) this.fail('ADDITEMS target is not a set', at);
          for (const item of items) target.add(item);
          break;
        }
        case 0x91: this.push(new Set(this.popMark())); break; // FROZENSET
        // -- memo
        case 0x70: this.memoPut(this.parseIndex(this.line(), at), this.top()); break; // PUT
        case 0x71: this.memoPut(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memoPut(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x94: this.memoPut(this.memo.size, this.top()); break; // MEMOIZE
        case 0x67: this.push(this.memoGet(this.parseIndex(this.line(), at))); break; // GET
        case 0x68: this.push(this.memoGet(this.u8())); break; // BINGET
        case 0x6a: this.push(this.memoGet(this.u32())); break; // LONG_BINGET
        // -- globals and object construction
        case 0x63: {
          // GLOBAL "module\nname\n"
          const module = this.line();
          const name = this.line();
          this.push(this.resolveGlobal(module, name, at));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings', at);
          this.push(this.resolveGlobal(module, name, at));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const callable = this.pop();
          this.push(this.call(callable, args, at));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop();
          this.build(this.top(), state, at);
          break;
        }
        case 0x98: break; // READONLY_BUFFER: marks a buffer read-only; nothing to do here.
        case 0x81:
        case 0x92:
          return this.fail(`NEWOBJ of ${this.describeCallable(op === 0x81 ? this.stack[this.stack.length - 2] : this.stack[this.stack.length - 3])} is not supported`, at);
        case 0x69:
        case 0x6f:
          return this.fail('INST/OBJ (protocol 0/1 class instances) are not supported', at);
        case 0x50:
        case 0x51:
          return this.fail('persistent IDs are not supported', at);
        case 0x82:
        case 0x83:
        case 0x84:
          return this.fail('extension-registry opcodes (EXT1/2/4) are not supported', at);
        case 0x97:
          return this.fail('out-of-band buffers (NEXT_BUFFER) are not supported', at);
        case 0x53:
        case 0x56:
          return this.fail('protocol 0 STRING/UNICODE opcodes are not supported', at);
        default:
          return this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`, at);
      }
    }
    return this.fail('truncated: no STOP opcode');
  }

  private parseDecimal(text: string, at: number): number | bigint {
    if (text.length > this.maxIntegerBytes * 3) this.fail(`integer literal of ${text.length} digits is too long`, at);
    if (!/^[-+]?\d+$/.test(text)) this.fail(`bad integer literal ${JSON.stringify(text.slice(0, 40))}`, at);
    return normalizeInteger(BigInt(text));
  }

  private parseIndex(text: string, at: number): number {
    const value = this.parseDecimal(text, at);
    if (typeof value !== 'number' || value < 0) this.fail(`bad memo index ${text.slice(0, 40)}`, at);
    return value;
  }

  private listTarget(at: number): unknown[] {
    const target = this.top();
    if (!Array.isArray(target) || Object.isFrozen(target)) this.fail('APPEND target is not a list', at);
    return target;
  }

  private dictTarget(at: number): Map<unknown, unknown> {
    const target = this.top();
    if (!(target instanceof Map)) this.fail('SETITEM target is not a dict', at);
    return target;
  }

  private resolveGlobal(module: string, name: string, at: number): PyGlobal {
    const qualified = `${module}.${name}`;
    const kind = ALLOWED_GLOBALS.get(qualified);
    if (!kind) this.fail(`global '${qualified.slice(0, 200)}' is not allowed (this unpickler only rebuilds numpy arrays and builtin containers)`, at);
    return new PyGlobal(kind, qualified);
  }

  private describeCallable(value: unknown): string {
    return value instanceof PyGlobal ? value.qualifiedName : typeof value;
  }

  // ---- REDUCE: the allowlisted constructors -----------------------------------------
  private call(callable: unknown, args: unknown, at: number): unknown {
    if (!(callable instanceof PyGlobal)) this.fail(`REDUCE on a non-callable (${typeof callable})`, at);
    if (!isPyTuple(args)) this.fail(`REDUCE arguments for ${callable.qualifiedName} are not a tuple`, at);
    const name = callable.qualifiedName;
    switch (callable.kind) {
      case 'reconstruct': {
        // numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b'): an empty array awaiting BUILD.
        const cls = args[0];
        if (!(cls instanceof PyGlobal) || cls.kind !== 'ndarray') this.fail(`${name} expects numpy.ndarray, got ${this.describeCallable(cls)}`, at);
        const placeholder: NdArrayLike = { dtype: 'float64', shape: [0], data: new Float64Array(0) };
        this.pendingArrays.add(placeholder);
        return placeholder;
      }
      case 'dtype': {
        const code = args[0];
        if (typeof code !== 'string') this.fail(`numpy.dtype expects a type code string`, at);
        const resolved = parseDTypeCode(code);
        if (!resolved) this.fail(`unsupported numpy dtype '${code.slice(0, 40)}'`, at);
        return new PyDType(resolved);
      }
      case 'scalar':
        return this.makeScalar(args, at);
      case 'frombuffer':
        return this.makeFromBuffer(args, at);
      case 'codecs_encode': {
        const [text, encoding] = args;
        if (typeof text !== 'string' || (encoding !== undefined && (typeof encoding !== 'string' || !ISLATIN1_ENCODINGS.has(encoding.toLowerCase())))) {
          this.fail(`_codecs.encode is only supported for (str, 'latin1')`, at);
        }
        return latin1ToBytes(text, this.what);
      }
      case 'set':
      case 'frozenset': {
        if (args.length === 0) return new Set();
        const items = args[0];
        if (!Array.isArray(items)) this.fail(`${name} expects a list`, at);
        return new Set(items);
      }
      case 'bytes':
      case 'bytearray': {
        if (args.length === 0) return new Uint8Array(0);
        const [source, encoding] = args;
        if (source instanceof Uint8Array) return source.slice();
        if (typeof source === 'string' && typeof encoding === 'string' && ISLATIN1_ENCODINGS.has(encoding.toLowerCase())) {
          return latin1ToBytes(source, this.what);
        }
        // bytearray(n) would allocate n bytes on request: refused on purpose.
        return this.fail(`${name} is only supported from bytes or (str, 'latin-1')`, at);
      }
      case 'ordered_dict': {
        const map = new Map<unknown, unknown>();
        if (args.length === 0) return map;
        const pairs = args[0];
        if (!Array.isArray(pairs)) this.fail(`${name} expects a list of pairs`, at);
        for (const pair of pairs) {
          if (!Array.isArray(pair) || pair.length !== 2) this.fail(`${name} expects (key, value) pairs`, at);
          map.set(pair[0], pair[1]);
        }
        return map;
      }
      case 'ndarray':
        return this.fail('numpy.ndarray cannot be called directly', at);
    }
  }

  private makeScalar(args: readonly unknown[], at: number): unknown {
    const [dtype, raw] = args;
    if (!(dtype instanceof PyDType)) this.fail('numpy scalar without a dtype', at);
    const resolved = dtype.resolved;
    if (resolved.kind === 'object') return raw;
    const bytes = typeof raw === 'string' ? latin1ToBytes(raw, this.what) : raw;
    if (!(bytes instanceof Uint8Array)) this.fail('numpy scalar data is not bytes', at);
    if (resolved.kind === 'unicode' || resolved.kind === 'bytes') {
      return decodeFixedWidthItems(bytes, { ...resolved, itemSize: bytes.length }, dtype.littleEndian, 1, this.what)[0];
    }
    if (bytes.length !== resolved.itemSize) this.fail(`numpy ${resolved.dtype} scalar has ${bytes.length} bytes`, at);
    const data = typedArrayFromBytes(resolved.dtype, bytes, 0, 1, dtype.littleEndian);
    const value = data[0]!;
    if (resolved.dtype === 'bool') return value !== 0;
    if (resolved.dtype === 'float16') return halfBitsToFloat(value as number);
    return typeof value === 'bigint' ? normalizeInteger(value) : value;
  }

  /** numpy.core.numeric._frombuffer(buffer, dtype, shape, order): protocol-5 arrays. */
  private makeFromBuffer(args: readonly unknown[], at: number): NdArrayLike | ObjectArray {
    const [buffer, dtype, shape, order] = args;
    if (!(buffer instanceof Uint8Array)) this.fail('_frombuffer needs a bytes buffer', at);
    if (!(dtype instanceof PyDType)) this.fail('_frombuffer needs a dtype', at);
    if (order !== 'C' && order !== 'F') this.fail(`_frombuffer order must be 'C' or 'F'`, at);
    return this.decodeArray(dtype, this.shapeFrom(shape, at), order === 'F', buffer, at);
  }

  private shapeFrom(value: unknown, at: number): number[] {
    if (!Array.isArray(value) || !value.every((d) => typeof d === 'number')) this.fail('ndarray shape is not a tuple of integers', at);
    const shape = [...(value as number[])];
    try {
      elementCount(shape, 'ndarray');
    } catch (error) {
      this.fail((error as Error).message, at);
    }
    return shape;
  }

  // ---- BUILD: ndarray and dtype state ------------------------------------------------
  private build(target: unknown, state: unknown, at: number): void {
    if (target instanceof PyDType) {
      // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
      if (!isPyTuple(state) || state.length < 8) this.fail('numpy dtype state is not the expected tuple', at);
      const byteOrder = state[1];
      if (typeof byteOrder !== 'string' || !['<', '>', '|', '='].includes(byteOrder)) this.fail('numpy dtype has a bad byte order', at);
      if (state[2] !== null || state[3] !== null || state[4] !== null) this.fail('structured or sub-array numpy dtypes are not supported', at);
      target.byteOrder = byteOrder;
      return;
    }
    if (typeof target === 'object' && target !== null && this.pendingArrays.has(target)) {
      // (version, shape, dtype, is_fortran, rawdata); very old numpy omits the version.
      if (!isPyTuple(state) || (state.length !== 5 && state.length !== 4)) this.fail('ndarray state is not the expected tuple', at);
      const offset = state.length === 5 ? 1 : 0;
      const shape = this.shapeFrom(state[offset], at);
      const dtype = state[offset + 1];
      const fortran = state[offset + 2];
      const raw = state[offset + 3];
      if (!(dtype instanceof PyDType)) this.fail('ndarray state has no dtype', at);
      if (typeof fortran !== 'boolean' && fortran !== 0 && fortran !== 1) this.fail('ndarray fortran flag is not a bool', at);
      const array = this.decodeArray(dtype, shape, Boolean(fortran), raw, at);
      Object.assign(target, array);
      this.pendingArrays.delete(target);
      return;
    }
    this.fail(`BUILD on an unsupported object (${target instanceof Map ? 'dict' : typeof target})`, at);
  }

  private decodeArray(dtype: PyDType, shape: number[], fortran: boolean, raw: unknown, at: number): NdArrayLike | ObjectArray {
    const count = elementCount(shape);
    const resolved = dtype.resolved;
    if (resolved.kind === 'object') {
      if (!Array.isArray(raw)) this.fail('object ndarray data is not a list', at);
      if (raw.length !== count) this.fail(`object ndarray of shape ${describeShape(shape)} has ${raw.length} items`, at);
      const items = fortran ? fortranToC([...raw], shape, (n) => new Array<unknown>(n)) : [...raw];
      return { dtype: 'object', shape, data: items };
    }
    const bytes = typeof raw === 'string' ? latin1ToBytes(raw, this.what) : raw;
    if (!(bytes instanceof Uint8Array)) this.fail('ndarray data is not bytes', at);
    const expected = count * resolved.itemSize;
    if (bytes.length !== expected) {
      this.fail(`ndarray ${dtype.describe()} of shape ${describeShape(shape)} needs ${expected} bytes, got ${bytes.length}`, at);
    }
    if (resolved.kind === 'unicode' || resolved.kind === 'bytes') {
      const items = decodeFixedWidthItems(bytes, resolved, dtype.littleEndian, count, this.what);
      return { dtype: 'object', shape, data: fortran ? fortranToC(items, shape, (n) => new Array<unknown>(n)) : items };
    }
    let data = typedArrayFromBytes(resolved.dtype, bytes, 0, count, dtype.littleEndian);
    if (fortran) data = fortranToC(data, shape, (n) => allocateTypedArray(resolved.dtype, n));
    return { dtype: resolved.dtype, shape, data };
  }
}

/** numpy 'U' (UTF-32) and 'S' (bytes) items, trailing NULs removed as numpy does. */
function decodeFixedWidthItems(
  bytes: Uint8Array,
  dtype: { kind: 'unicode' | 'bytes'; itemSize: number },
  littleEndian: boolean,
  count: number,
  what: string,
): unknown[] {
  const items: unknown[] = new Array<unknown>(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const start = i * dtype.itemSize;
    if (dtype.kind === 'bytes') {
      let end = start + dtype.itemSize;
      while (end > start && bytes[end - 1] === 0) end--;
      items[i] = bytes.slice(start, end);
      continue;
    }
    const codes: number[] = [];
    for (let p = start; p < start + dtype.itemSize; p += 4) codes.push(view.getUint32(p, littleEndian));
    while (codes.length > 0 && codes[codes.length - 1] === 0) codes.pop();
    if (codes.some((c) => c > 0x10ffff)) throw new PickleError(`${what}: numpy str item ${i} has an invalid code point`);
    items[i] = String.fromCodePoint(...codes);
  }
  return items;
}

/** A pickled dict with string keys as a plain record (null prototype, so any key is safe). */
export function pickleDictToRecord(value: unknown, what: string): Record<string, unknown> {
  if (!(value instanceof Map)) throw new PickleError(`${what}: expected a dict, got ${describePickleValue(value)}`);
  const record: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of value) {
    if (typeof key !== 'string') throw new PickleError(`${what}: dict key ${String(key)} is not a string`);
    record[key] = item;
  }
  return record;
}

/** Short description of an unpickled value for error messages. */
export function describePickleValue(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof Map) return `dict of ${value.size} items`;
  if (value instanceof Set) return `set of ${value.size} items`;
  if (value instanceof Uint8Array) return `bytes of length ${value.length}`;
  if (Array.isArray(value)) return `${Object.isFrozen(value) ? 'tuple' : 'list'} of ${value.length} items`;
  if (typeof value === 'object' && 'dtype' in value && 'shape' in value) {
    const arr = value as { dtype: string; shape: number[] };
    return `ndarray ${arr.dtype} ${describeShape(arr.shape)}`;
  }
  return typeof value;
}
