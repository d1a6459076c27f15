/**
 * The backend contract: the few primitives every op is built from. Two backends implement it,
 * WebGPU (src/backend/webgpu/backend.ts, one WGSL kernel family per primitive) and the CPU reference
 * (src/backend/cpu.ts, plain TypeScript, float64-capable, the oracle of the tests).
 *
 * Primitives take strided views and return fresh contiguous storage. Gradients live above this
 * contract (src/autograd), so both backends get them for free.
 *
 * Fused ops (GRAM volumes and the contrastive loss, cross-attention, the optimizer step) are
 * *routines* (src/backend/routines.ts): a backend implements one or declines it, and the op's
 * front (src/autograd/routine.ts and the op's module) falls back to its composition of primitives.
 */
import type { MapOp } from './op-table.js';
import type { Routines } from './routines.js';

export type DType = 'float32' | 'int32' | 'float64';
export type TypedArray = Float32Array | Int32Array | Float64Array;
export type BackendName = 'webgpu' | 'cpu';

/** Reference-counted memory behind one or more tensors (views share it). Users never see the count. */
export class Storage {
  refs = 1;
  constructor(
    readonly backend: Backend,
    /** GPUBuffer on WebGPU, a typed array on the CPU. */
    readonly handle: GPUBuffer | TypedArray,
    /** Elements, not bytes. */
    readonly length: number,
  ) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) this.backend.free(this);
  }
}

/** A strided window onto a storage. Tensor implements it. */
export interface View {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
}

export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax' | 'argmin' | 'logsumexp';
export type Activation = 'none' | 'relu' | 'gelu';
export type RandomKind = 'uniform' | 'normal' | 'bernoulli';

export interface Backend {
  readonly name: BackendName;
  /** Whether float64 tensors live here (the CPU reference; WebGPU has no f64). */
  readonly supportsFloat64: boolean;
  /** Largest storage one kernel may bind, in bytes (Infinity on the CPU): callers chunk work to fit. */
  readonly maxBindingBytes: number;
  /** The fused routines this backend implements (an absent one, or a null result, declines it). */
  readonly routines: Routines;
  fromHost(data: TypedArray, dtype: DType): Storage;
  /** Overwrites a dense view in place with host values (state-dict loads): int32 views truncate. */
  write(v: View, data: ArrayLike<number>): void;
  /** The values of a view at once when the backend holds them on the host (CPU), else null (read with toHost). */
  peek(v: View): TypedArray | null;
  /** Reads a view into a new host array of its dtype (Float32Array, Int32Array or Float64Array). */
  toHost(v: View): Promise<TypedArray>;
  free(s: Storage): void;
  /** Elementwise `op` over inputs already broadcast to `shape` (through their strides). */
  map(op: MapOp, inputs: View[], shape: readonly number[], outDtype: DType, params?: readonly number[]): Storage;
  /** Reduces `axes` away; the result's shape is x.shape without them. `scale` multiplies sums (mean). */
  reduce(op: ReduceOp, x: View, axes: readonly number[], scale?: number): Storage;
  /** a [..., M, K] @ b [..., K, N] with identical batch shapes, optional bias [N] and activation. */
  matmul(a: View, b: View, bias: View | null, activation: Activation): Storage;
  /** Softmax (or log-softmax) over the last axis. */
  softmax(x: View, log: boolean): Storage;
  /** Gradient of softmax given its output y and upstream g (last axis). */
  softmaxGrad(y: View, g: View, log: boolean): Storage;
  /** LayerNorm over the last axis: y, plus mean and 1/std per row for the backward. */
  layerNorm(x: View, gamma: View | null, beta: View | null, eps: number): { y: Storage; mean: Storage; rstd: Storage };
  /** dx, and g·x̂ per element (summed over rows by the caller for dgamma). */
  layerNormGrad(x: View, mean: View, rstd: View, gamma: View | null, g: View): { dx: Storage; gxhat: Storage };
  /** out[..., i, ...] = x[..., index[i], ...] along `axis`. */
  gather(x: View, axis: number, index: View): Storage;
  /** zeros(shape) with src added at index along axis (gather's adjoint). */
  indexAdd(shape: readonly number[], axis: number, index: View, src: View): Storage;
  /**
   * Asserts every index lies in [0, n): the CPU throws `message` at once; a GPU checks on the
   * device and throws it at the next readback (read() / sync()), so the check costs no round trip.
   */
  checkIndices(index: View, n: number, message: string): void;
  /** Concatenation along `axis` into contiguous storage. */
  concat(parts: View[], axis: number, shape: readonly number[]): Storage;
  /** Philox4x32-10 stream `(seed, counter)`, one value per element: identical on every backend. */
  random(kind: RandomKind, n: number, seed: number, counter: number, p0: number, p1: number, dtype: DType): Storage;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function isContiguous(v: Pick<View, 'shape' | 'strides'>): boolean {
  let acc = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.strides[i] !== acc) return false;
    acc *= v.shape[i];
  }
  return true;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

export function arrayFor(dtype: DType, n: number): TypedArray {
  return dtype === 'int32' ? new Int32Array(n) : dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}
