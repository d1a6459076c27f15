/** The WebGPU backend: each primitive is one WGSL kernel family in this folder (its TS wrapper) + wgsl/ (its WGSL). */
import type { GpuRuntime } from '../../gpu/runtime.js';
import {
  contiguousStrides,
  isContiguous,
  sizeOf,
  Storage,
  type Activation,
  type Backend,
  type DType,
  type RandomKind,
  type ReduceOp,
  type TypedArray,
  type View,
} from '../backend.js';
import { COPY, type MapOp } from '../op-table.js';
import { runMap } from './elementwise.js';
import { runReduce } from './reduce.js';
import { runMatmul } from './matmul.js';
import { runSoftmax } from './softmax.js';
import { runLayerNorm, runLayerNormGrad } from './layernorm.js';
import { runCheckRange, runConcat, runGather, runIndexAdd } from './indexing.js';
import { runRandom } from './random.js';
import { GpuError } from '../../gpu/errors.js';
import { webgpuRoutines } from './routines.js';
import type { Routines } from '../routines.js';

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly supportsFloat64 = false;
  readonly routines: Routines;
  constructor(readonly rt: GpuRuntime) {
    this.routines = webgpuRoutines(this);
  }

  get maxBindingBytes(): number {
    return this.rt.maxBindingBytes;
  }

  private wrap(buffer: GPUBuffer, length: number): Storage {
    return new Storage(this, buffer, length);
  }

  /** A dense, offset-0 view of v: v itself when it already is one, else a copy (released by `done`). */
  private dense(v: View): { view: View; done: () => void } {
    if (isContiguous(v) && v.offset === 0) return { view: v, done: () => {} };
    const n = sizeOf(v.shape);
    const s = this.wrap(runMap(this.rt, COPY, [v], v.shape, v.dtype), n);
    return {
      view: { storage: s, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0, dtype: v.dtype },
      done: () => s.release(),
    };
  }

  fromHost(data: TypedArray, dtype: DType): Storage {
    if (dtype === 'float64') throw new GpuError('float64 tensors live on the CPU backend only; WebGPU has no f64');
    const typed = dtype === 'int32' ? (data instanceof Int32Array ? data : Int32Array.from(data)) : data instanceof Float32Array ? data : Float32Array.from(data);
    return this.wrap(this.rt.upload(typed), data.length);
  }

  async toHost(v: View): Promise<TypedArray> {
    const n = sizeOf(v.shape);
    // A contiguous view is read in place, at its offset; anything else is packed first.
    const { view, done } = isContiguous(v) ? { view: v, done: () => {} } : this.dense(v);
    try {
      const bytes = await this.rt.read(view.storage.handle as GPUBuffer, n * 4, view.offset * 4);
      return v.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
    } finally {
      done();
    }
  }

  free(s: Storage): void {
    this.rt.free(s.handle as GPUBuffer);
  }

  write(v: View, data: ArrayLike<number>): void {
    const typed = v.dtype === 'int32' ? Int32Array.from(data, (x) => Math.trunc(x)) : data instanceof Float32Array ? data : Float32Array.from(data);
    // Keep queue order with recorded-but-unsubmitted dispatches that may read this buffer.
    this.rt.flush();
    if (typed.byteLength > 0) this.rt.device.queue.writeBuffer(v.storage.handle as GPUBuffer, v.offset * 4, typed.buffer, typed.byteOffset, typed.byteLength);
  }

  peek(_v: View): null {
    return null; // on the device: read with toHost
  }

  map(op: MapOp, inputs: View[], shape: readonly number[], outDtype: DType, params: readonly number[] = []): Storage {
    return this.wrap(runMap(this.rt, op, inputs, shape, outDtype, params), sizeOf(shape));
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], scale = 1): Storage {
    const outDtype: DType = op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype;
    const n = sizeOf(x.shape.filter((_, d) => !axes.includes(d)));
    return this.wrap(runReduce(this.rt, op, x, axes, scale, outDtype), n);
  }

  matmul(a: View, b: View, bias: View | null, activation: Activation): Storage {
    const r = a.shape.length;
    const n = sizeOf(a.shape.slice(0, r - 1)) * b.shape[r - 1];
    return this.wrap(runMatmul(this.rt, a, b, bias, activation), n);
  }

  softmax(x: View, log: boolean): Storage {
    const { view, done } = this.dense(x);
    const out = runSoftmax(this.rt, view, log);
    done();
    return this.wrap(out, sizeOf(x.shape));
  }

  softmaxGrad(y: View, g: View, log: boolean): Storage {
    const yd = this.dense(y);
    const gd = this.dense(g);
    const out = runSoftmax(this.rt, yd.view, log, gd.view);
    yd.done();
    gd.done();
    return this.wrap(out, sizeOf(y.shape));
  }

  layerNorm(x: View, gamma: View | null, beta: View | null, eps: number) {
    const parts = [x, gamma, beta].map((v) => (v ? this.dense(v) : null));
    const r = runLayerNorm(this.rt, parts[0]!.view, parts[1]?.view ?? null, parts[2]?.view ?? null, eps);
    parts.forEach((p) => p?.done());
    const rows = x.shape.length ? sizeOf(x.shape.slice(0, -1)) : 1;
    return { y: this.wrap(r.y, sizeOf(x.shape)), mean: this.wrap(r.mean, rows), rstd: this.wrap(r.rstd, rows) };
  }

  layerNormGrad(x: View, mean: View, rstd: View, gamma: View | null, g: View) {
    const parts = [x, mean, rstd, gamma, g].map((v) => (v ? this.dense(v) : null));
    const r = runLayerNormGrad(this.rt, parts[0]!.view, parts[1]!.view, parts[2]!.view, parts[3]?.view ?? null, parts[4]!.view);
    parts.forEach((p) => p?.done());
    return { dx: this.wrap(r.dx, sizeOf(x.shape)), gxhat: this.wrap(r.gxhat, sizeOf(x.shape)) };
  }

  gather(x: View, axis: number, index: View): Storage {
    const xd = this.dense(x);
    const id = this.dense(index);
    const out = runGather(this.rt, xd.view, axis, id.view);
    xd.done();
    id.done();
    return this.wrap(out, (sizeOf(x.shape) / (x.shape[axis] || 1)) * sizeOf(index.shape));
  }

  checkIndices(index: View, n: number, message: string): void {
    const id = this.dense(index);
    runCheckRange(this.rt, id.view, n, message);
    id.done();
  }

  indexAdd(shape: readonly number[], axis: number, index: View, src: View): Storage {
    const sd = this.dense(src);
    const id = this.dense(index);
    const out = runIndexAdd(this.rt, shape, axis, id.view, sd.view);
    sd.done();
    id.done();
    return this.wrap(out, sizeOf(shape));
  }

  concat(parts: View[], axis: number, shape: readonly number[]): Storage {
    const dense = parts.map((p) => this.dense(p));
    const out = runConcat(
      this.rt,
      dense.map((d) => d.view),
      axis,
      shape,
    );
    dense.forEach((d) => d.done());
    return this.wrap(out, sizeOf(shape));
  }

  random(kind: RandomKind, n: number, seed: number, counter: number, p0: number, p1: number, dtype: DType): Storage {
    return this.wrap(runRandom(this.rt, kind, n, seed, counter, p0, p1, dtype), n);
  }
}
