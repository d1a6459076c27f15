/**
 * Tensor: a strided view of backend storage plus its place in the autograd graph.
 * Methods mirror PyTorch's names in camelCase and forward to the functional ops in ./ops/.
 */
import { contiguousStrides, isContiguous, sizeOf, Storage, type Backend, type DType, type TypedArray, type View } from '../backend/backend.js';
import { GpuError, ShapeError, shapeStr } from '../gpu/errors.js';
import { keep as keepTensor, noGrad, releaseGraph, runBackward, trackTensor, type BackwardOptions, type GradNode } from './engine.js';
import * as E from './ops/elementwise.js';
import * as R from './ops/reduce.js';
import * as S from './ops/shape.js';
import * as L from './ops/linalg.js';
import * as N from './ops/nn.js';
import * as G from './ops/generated.js';
import { SURFACE, type SurfaceName } from '../backend/op-table.js';

export type Scalar = number;
export type TensorLike = Tensor | number;

export class Tensor implements View {
  readonly __isTensor = true;
  requiresGrad = false;
  /** Accumulated gradient after backward(); contiguous, owned by this tensor. */
  grad: Tensor | null = null;
  /** @internal the op that produced this tensor (null for leaves). */
  node: GradNode | null = null;
  /** @internal how many unfreed graph nodes take this tensor as an input (keeps its node alive). */
  consumers = 0;
  /** Optional name (parameters carry theirs; shows in errors). */
  name?: string;
  private disposed_ = false;

  /** @internal use tensor(), zeros(), ... */
  constructor(
    readonly storage: Storage,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly strides: readonly number[] = contiguousStrides(shape),
    readonly offset = 0,
  ) {
    trackTensor(this);
  }

  get backend(): Backend {
    return this.storage.backend;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.disposed_;
  }
  get isContiguous(): boolean {
    return isContiguous(this) && this.offset === 0;
  }

  /** Throws if this tensor can no longer be used. Every op calls it on its inputs. */
  assertLive(op = 'use'): void {
    if (this.disposed_) throw new GpuError(`cannot ${op} a disposed tensor ${this.describe()}`);
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${shapeStr(this.shape)} ${this.dtype}`;
  }

  /** Frees this tensor's memory (its gradient too). Safe to call twice. */
  dispose(): void {
    if (this.disposed_) return;
    this.disposed_ = true;
    this.storage.release();
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    // A disposed tensor no node depends on can never be backpropagated: release its graph.
    if (this.node && this.consumers === 0) releaseGraph(this.node);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * @internal another tensor object sharing this storage, outside every scope and every graph
   * (what a node saves for its backward, which runs without recording).
   */
  handle(): Tensor {
    this.assertLive();
    const t = new Tensor(this.storage.retain(), this.shape, this.dtype, this.strides, this.offset);
    keepTensor(t);
    return t;
  }

  /** @internal a view of the same storage with another shape/strides (graph handled by the caller). */
  view(shape: readonly number[], strides: readonly number[], offset = this.offset): Tensor {
    this.assertLive();
    return new Tensor(this.storage.retain(), shape, this.dtype, strides, offset);
  }

  /** Reads the values (row-major) to the host. */
  async data(): Promise<TypedArray> {
    this.assertLive('read');
    return this.backend.toHost(this);
  }

  /** The values as nested arrays. */
  async array(): Promise<unknown> {
    const d = Array.from(await this.data());
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return d[off];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new GpuError(`item() needs a one-element tensor, got ${this.describe()}`);
    return (await this.data())[0];
  }

  /** Marks this tensor as a leaf that accumulates gradients. Returns this. */
  requiresGrad_(flag = true): this {
    if (flag && this.dtype === 'int32') throw new GpuError(`an int32 tensor ${this.describe()} cannot require grad`);
    this.requiresGrad = flag;
    return this;
  }

  /** A tensor sharing this storage, cut from the graph. */
  detach(): Tensor {
    return this.view(this.shape, this.strides);
  }

  /** Clears the accumulated gradient. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  /** Keeps this tensor alive past the enclosing tidy(). */
  keep(): this {
    return keepTensor(this);
  }

  /** Backpropagates from this tensor (a scalar unless `gradient` is given). */
  backward(gradient?: Tensor, opts: BackwardOptions = {}): void {
    this.assertLive('backpropagate from');
    if (!this.requiresGrad) throw new GpuError(`backward() on ${this.describe()}, which does not require grad (no input had requiresGrad)`);
    if (!gradient && this.size !== 1) throw new GpuError(`backward() without a gradient needs a scalar, got ${this.describe()}`);
    if (gradient && (gradient.rank !== this.rank || gradient.shape.some((d, i) => d !== this.shape[i]))) {
      throw new ShapeError(`backward(): gradient ${gradient.describe()} does not match the shape of ${this.describe()}`);
    }
    const seed = gradient ? noGrad(() => S.contiguous(gradient, true)) : S.onesLike(this);
    runBackward(this, seed, opts, (a, b) => E.add(a, b), (t) => (t.isContiguous ? t : S.contiguous(t)));
  }

  // ---- elementwise ----
  // add, sub, mul, div, pow, maximum, minimum, eq … ge, neg, exp, … tanh: installed below from the op table.
  gelu(opts?: { approximate?: 'none' | 'tanh' }) { return E.gelu(this, opts); }
  clamp(min: number, max: number) { return E.clamp(this, min, max); }
  square() { return E.mul(this, this); }
  toFloat() { return E.cast(this, 'float32'); }
  toInt() { return E.cast(this, 'int32'); }
  cast(dtype: DType) { return E.cast(this, dtype); }

  // ---- reductions ----
  sum(axes?: number | number[], keepDims = false) { return R.sum(this, axes, keepDims); }
  mean(axes?: number | number[], keepDims = false) { return R.mean(this, axes, keepDims); }
  max(axes?: number | number[], keepDims = false) { return R.max(this, axes, keepDims); }
  min(axes?: number | number[], keepDims = false) { return R.min(this, axes, keepDims); }
  argmax(axis?: number, keepDims = false) { return R.argmax(this, axis, keepDims); }
  argmin(axis?: number, keepDims = false) { return R.argmin(this, axis, keepDims); }
  logsumexp(axes?: number | number[], keepDims = false) { return R.logsumexp(this, axes, keepDims); }

  // ---- shape ----
  reshape(shape: number[]) { return S.reshape(this, shape); }
  permute(dims: number[]) { return S.permute(this, dims); }
  transpose(d0 = -2, d1 = -1) { return S.transpose(this, d0, d1); }
  get T() { return S.transpose(this, -2, -1); }
  expand(shape: number[]) { return S.expand(this, shape); }
  squeeze(axis?: number) { return S.squeeze(this, axis); }
  unsqueeze(axis: number) { return S.unsqueeze(this, axis); }
  flatten(start = 0, end = -1) { return S.flatten(this, start, end); }
  slice(axis: number, start: number, end?: number) { return S.slice(this, axis, start, end); }
  narrow(axis: number, start: number, length: number) { return S.slice(this, axis, start, start + length); }
  split(sizes: number | number[], axis = 0) { return S.split(this, sizes, axis); }
  contiguous() { return S.contiguous(this); }
  gather(axis: number, index: Tensor) { return S.indexSelect(this, axis, index); }
  indexSelect(axis: number, index: Tensor) { return S.indexSelect(this, axis, index); }
  clone() { return S.contiguous(this, true); }

  // ---- linear algebra and nn ----
  matmul(o: Tensor) { return L.matmul(this, o); }
  softmax(axis = -1) { return N.softmax(this, axis); }
  logSoftmax(axis = -1) { return N.logSoftmax(this, axis); }
  l2Normalize(axis = -1, eps?: number) { return N.l2Normalize(this, axis, eps); }

  toString(): string {
    return `Tensor(${this.describe()}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** The elementwise methods of the op table's SURFACE rows (typed by src/autograd/ops/generated.ts). */
export interface Tensor extends G.SurfaceTensorMethods {}
for (const name of Object.keys(SURFACE) as SurfaceName[]) {
  Object.defineProperty(Tensor.prototype, name, {
    value(this: Tensor, other?: TensorLike): Tensor {
      return (G[name] as (a: TensorLike, b?: TensorLike) => Tensor)(this, other);
    },
    writable: true,
    configurable: true,
  });
}
