/** Tensor creation: tensor(), zeros, ones, full, arange, eye, rand, randn, and *Like helpers. */
import { arrayFor, sizeOf, type Backend, type DType, type TypedArray } from '../../backend/backend.js';
import { FILL, IOTA } from '../../backend/op-table.js';
import { ShapeError, shapeStr } from '../../gpu/errors.js';
import { cpuBackend, defaultBackend } from '../../gpu/init.js';
import type { Tensor } from '../tensor.js';
import { wrap } from './util.js';
import { defaultGenerator, type Generator } from './random.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** 'cpu' for the reference backend; default: the backend chosen by init(). */
  backend?: 'cpu' | 'default' | Backend;
}

export type NestedArray = number | NestedArray[];

function pickBackend(opt: CreateOptions['backend'], dtype?: DType, op = 'tensor'): Backend {
  const backend = opt === 'cpu' ? cpuBackend() : !opt || opt === 'default' ? defaultBackend() : opt;
  if (dtype === 'float64' && !backend.supportsFloat64) throw new ShapeError(`${op}(): float64 is only available on the CPU backend (WebGPU has no f64)`);
  return backend;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let d: NestedArray = data;
  while (Array.isArray(d)) {
    shape.push(d.length);
    d = d[0] as NestedArray;
    if (d === undefined) break;
  }
  return shape;
}

function flattenNested(data: NestedArray, shape: number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new ShapeError(`tensor(): ragged nested array (expected a number at depth ${depth})`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) throw new ShapeError(`tensor(): ragged nested array: expected ${shape[depth]} entries at depth ${depth}`);
  for (const v of data) flattenNested(v, shape, out, depth + 1);
}

function checkShape(op: string, shape: readonly number[]): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`${op}(): invalid shape ${shapeStr(shape)}`);
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * A tensor from numbers: a nested array (shape inferred), or a flat array / typed array with `shape`.
 * dtype defaults to int32 for an Int32Array, float64 for a Float64Array on the CPU, else float32.
 */
export function tensor(data: NestedArray | TypedArray | number[], shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  const backend = pickBackend(opts.backend, opts.dtype);
  let flat: TypedArray | number[];
  let sh: number[];
  if (ArrayBuffer.isView(data)) {
    flat = data as TypedArray;
    sh = shape ? [...shape] : [flat.length];
  } else if (typeof data === 'number') {
    flat = [data];
    sh = shape ? [...shape] : [];
  } else {
    const inferred = inferShape(data);
    const out: number[] = [];
    flattenNested(data, inferred, out);
    flat = out;
    sh = shape ? [...shape] : inferred;
  }
  if (sh.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`tensor(): invalid shape ${shapeStr(sh)}`);
  if (sizeOf(sh) !== flat.length) throw new ShapeError(`tensor(): ${flat.length} values do not fill shape ${shapeStr(sh)} (${sizeOf(sh)} elements)`);
  const dtype: DType =
    opts.dtype ?? (data instanceof Int32Array ? 'int32' : data instanceof Float64Array && backend.supportsFloat64 ? 'float64' : 'float32');
  if (dtype === 'float64' && !backend.supportsFloat64) throw new ShapeError(`tensor(): float64 is only available on the CPU backend (WebGPU has no f64)`);
  let typed: TypedArray;
  if (dtype === 'int32') {
    typed = flat instanceof Int32Array ? flat : Int32Array.from(flat as ArrayLike<number>, (v) => Math.trunc(v));
  } else {
    typed = arrayFor(dtype, flat.length);
    typed.set(flat as ArrayLike<number>);
  }
  return finish(wrap(backend.fromHost(typed, dtype), sh, dtype), opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const backend = pickBackend(opts.backend, dtype, 'full');
  checkShape('full', shape);
  return finish(wrap(backend.map(FILL, [], shape, dtype, [value]), shape, dtype), opts);
}
export const zeros = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: CreateOptions = {}) => full(shape, 1, opts);

/** start, start+step, ... < end (PyTorch's arange). arange(n) counts 0..n-1. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new ShapeError('arange: step must be nonzero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? (Number.isInteger(start) && Number.isInteger(step) ? 'int32' : 'float32');
  const backend = pickBackend(opts.backend, dtype, 'arange');
  return finish(wrap(backend.map(IOTA, [], [n], dtype, [start, step]), [n], dtype), opts);
}

export function eye(n: number, m = n, opts: CreateOptions = {}): Tensor {
  const data = new Float32Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return tensor(data, [n, m], { ...opts, dtype: opts.dtype ?? 'float32' });
}

/** Uniform [low, high) from the seeded Philox stream. */
export function rand(shape: readonly number[], opts: CreateOptions & { low?: number; high?: number; generator?: Generator } = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const backend = pickBackend(opts.backend, dtype, 'rand');
  checkShape('rand', shape);
  const gen = opts.generator ?? defaultGenerator;
  const n = sizeOf(shape);
  return finish(wrap(backend.random('uniform', n, gen.seed, gen.take(n), opts.low ?? 0, opts.high ?? 1, dtype), shape, dtype), opts);
}

/** Normal(mean, std) from the seeded Philox stream (Box–Muller). */
export function randn(shape: readonly number[], opts: CreateOptions & { mean?: number; std?: number; generator?: Generator } = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const backend = pickBackend(opts.backend, dtype, 'randn');
  checkShape('randn', shape);
  const gen = opts.generator ?? defaultGenerator;
  const n = sizeOf(shape);
  return finish(wrap(backend.random('normal', n, gen.seed, gen.take(n), opts.mean ?? 0, opts.std ?? 1, dtype), shape, dtype), opts);
}

/** Copies a tensor to another backend ('cpu' or the default one). */
export async function to(t: Tensor, target: 'cpu' | 'default', dtype: DType = t.dtype): Promise<Tensor> {
  const data = await t.data();
  return tensor(data as TypedArray, t.shape, { backend: target, dtype });
}
