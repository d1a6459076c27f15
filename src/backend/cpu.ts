/**
 * The CPU reference backend: every primitive in plain TypeScript. It computes in float64 and
 * stores in the tensor's dtype, so a float64 tensor is an exact-as-possible oracle for the GPU
 * kernels and for finite-difference gradient checks. Clarity over speed.
 */
import { Philox } from './philox.js';
import type { MapOp } from './op-table.js';
import {
  arrayFor,
  Storage,
  sizeOf,
  type Activation,
  type Backend,
  type DType,
  type RandomKind,
  type ReduceOp,
  type TypedArray,
  type View,
} from './backend.js';
import { erf } from './op-table.js';
import { cpuRoutines } from './cpu-routines.js';
import type { Routines } from './routines.js';
import { ShapeError } from '../gpu/errors.js';

function arr(v: View): TypedArray {
  return v.storage.handle as TypedArray;
}

/** Calls fn(outIndex, offsets...) for every element of `shape`, offsets following each view's strides. */
function forEachIndex(shape: readonly number[], views: readonly View[], fn: (i: number, offs: Int32Array | number[]) => void): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  const offs = views.map((v) => v.offset);
  for (let i = 0; i < n; i++) {
    fn(i, offs);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < views.length; k++) offs[k] += views[k].strides[d];
      if (idx[d] < shape[d]) break;
      for (let k = 0; k < views.length; k++) offs[k] -= views[k].strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

function readContiguous(v: View): Float64Array {
  const out = new Float64Array(sizeOf(v.shape));
  const src = arr(v);
  forEachIndex(v.shape, [v], (i, o) => {
    out[i] = src[o[0]];
  });
  return out;
}

function store(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = arrayFor(dtype, values.length);
  if (dtype === 'int32') for (let i = 0; i < values.length; i++) out[i] = Math.trunc(values[i]);
  else out.set(values as ArrayLike<number>);
  return out;
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x * Math.SQRT1_2));

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly supportsFloat64 = true;
  readonly maxBindingBytes = Infinity;
  readonly routines: Routines = cpuRoutines(this);

  private wrap(data: TypedArray): Storage {
    return new Storage(this, data, data.length);
  }

  fromHost(data: TypedArray, dtype: DType): Storage {
    return this.wrap(store(dtype, data));
  }

  async toHost(v: View): Promise<TypedArray> {
    return store(v.dtype, readContiguous(v));
  }

  write(v: View, data: ArrayLike<number>): void {
    const h = arr(v);
    if (v.dtype === 'int32') for (let i = 0; i < data.length; i++) h[v.offset + i] = Math.trunc(data[i]);
    else for (let i = 0; i < data.length; i++) h[v.offset + i] = data[i];
  }

  peek(v: View): TypedArray {
    return store(v.dtype, readContiguous(v));
  }

  free(_s: Storage): void {
    /* garbage-collected */
  }

  map(op: MapOp, inputs: View[], shape: readonly number[], outDtype: DType, params: readonly number[] = []): Storage {
    const out = arrayFor(outDtype, sizeOf(shape));
    const srcs = inputs.map(arr);
    const p0 = params[0] ?? 0;
    const p1 = params[1] ?? 0;
    const f = op.cpu;
    const k = inputs.length;
    forEachIndex(shape, inputs, (i, o) => {
      const a = k > 0 ? srcs[0][o[0]] : 0;
      const b = k > 1 ? srcs[1][o[1]] : 0;
      const c = k > 2 ? srcs[2][o[2]] : 0;
      const d = k > 3 ? srcs[3][o[3]] : 0;
      const y = f(a, b, c, d, p0, p1, i);
      out[i] = outDtype === 'int32' ? Math.trunc(y) : y;
    });
    return this.wrap(out);
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[], scale = 1): Storage {
    const keep = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const outShape = keep.map((d) => x.shape[d]);
    const redShape = axes.map((d) => x.shape[d]);
    const nOut = sizeOf(outShape);
    const nRed = sizeOf(redShape);
    const outDtype: DType = op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype;
    const out = arrayFor(outDtype, nOut);
    const src = arr(x);
    const outer: View = { ...x, shape: outShape, strides: keep.map((d) => x.strides[d]) };
    const inner = { shape: redShape, strides: axes.map((d) => x.strides[d]) };
    forEachIndex(outShape, [outer], (i, o) => {
      const vals = new Float64Array(nRed);
      forEachIndex(inner.shape, [{ ...x, shape: inner.shape, strides: inner.strides, offset: o[0] }], (j, oj) => {
        vals[j] = src[oj[0]];
      });
      out[i] = reduceValues(op, vals) * (op === 'sum' ? scale : 1);
    });
    return this.wrap(out);
  }

  matmul(a: View, b: View, bias: View | null, activation: Activation): Storage {
    const r = a.shape.length;
    const M = a.shape[r - 2];
    const K = a.shape[r - 1];
    const N = b.shape[r - 1];
    const batchShape = a.shape.slice(0, r - 2);
    const batch = sizeOf(batchShape);
    const out = arrayFor(a.dtype, batch * M * N);
    const A = arr(a);
    const B = arr(b);
    const biasV = bias ? readContiguous(bias) : null;
    const aOff: number[] = [];
    const bOff: number[] = [];
    forEachIndex(batchShape, [
      { ...a, shape: batchShape, strides: a.strides.slice(0, r - 2) },
      { ...b, shape: batchShape, strides: b.strides.slice(0, r - 2) },
    ], (_i, o) => {
      aOff.push(o[0]);
      bOff.push(o[1]);
    });
    if (batch === 1 && aOff.length === 0) {
      aOff.push(a.offset);
      bOff.push(b.offset);
    }
    const [sam, sak] = [a.strides[r - 2], a.strides[r - 1]];
    const [sbk, sbn] = [b.strides[r - 2], b.strides[r - 1]];
    for (let p = 0; p < batch; p++) {
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += A[aOff[p] + i * sam + k * sak] * B[bOff[p] + k * sbk + j * sbn];
          if (biasV) s += biasV[j];
          if (activation === 'relu') s = Math.max(s, 0);
          else if (activation === 'gelu') s = gelu(s);
          out[(p * M + i) * N + j] = s;
        }
      }
    }
    return this.wrap(out);
  }

  softmax(x: View, log: boolean): Storage {
    const v = readContiguous(x);
    const n = x.shape[x.shape.length - 1] ?? 1;
    const out = arrayFor(x.dtype, v.length);
    for (let r = 0; r * n < v.length; r++) {
      let mx = -Infinity;
      for (let j = 0; j < n; j++) mx = Math.max(mx, v[r * n + j]);
      let s = 0;
      for (let j = 0; j < n; j++) s += Math.exp(v[r * n + j] - mx);
      const lse = mx + Math.log(s);
      for (let j = 0; j < n; j++) out[r * n + j] = log ? v[r * n + j] - lse : Math.exp(v[r * n + j] - lse);
    }
    return this.wrap(out);
  }

  softmaxGrad(y: View, g: View, log: boolean): Storage {
    const Y = readContiguous(y);
    const G = readContiguous(g);
    const n = y.shape[y.shape.length - 1] ?? 1;
    const out = arrayFor(y.dtype, Y.length);
    for (let r = 0; r * n < Y.length; r++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += log ? G[r * n + j] : G[r * n + j] * Y[r * n + j];
      for (let j = 0; j < n; j++) {
        const k = r * n + j;
        out[k] = log ? G[k] - Math.exp(Y[k]) * s : Y[k] * (G[k] - s);
      }
    }
    return this.wrap(out);
  }

  layerNorm(x: View, gamma: View | null, beta: View | null, eps: number) {
    const X = readContiguous(x);
    const n = x.shape[x.shape.length - 1];
    const rows = n === 0 ? 0 : X.length / n;
    const Gm = gamma ? readContiguous(gamma) : null;
    const Bt = beta ? readContiguous(beta) : null;
    const y = arrayFor(x.dtype, X.length);
    const mean = arrayFor(x.dtype, rows);
    const rstd = arrayFor(x.dtype, rows);
    for (let r = 0; r < rows; r++) {
      let mu = 0;
      for (let j = 0; j < n; j++) mu += X[r * n + j];
      mu /= n;
      let v = 0;
      for (let j = 0; j < n; j++) v += (X[r * n + j] - mu) ** 2;
      const rs = 1 / Math.sqrt(v / n + eps);
      mean[r] = mu;
      rstd[r] = rs;
      for (let j = 0; j < n; j++) y[r * n + j] = (X[r * n + j] - mu) * rs * (Gm ? Gm[j] : 1) + (Bt ? Bt[j] : 0);
    }
    return { y: this.wrap(y), mean: this.wrap(mean), rstd: this.wrap(rstd) };
  }

  layerNormGrad(x: View, mean: View, rstd: View, gamma: View | null, g: View) {
    const X = readContiguous(x);
    const G = readContiguous(g);
    const Mu = readContiguous(mean);
    const Rs = readContiguous(rstd);
    const Gm = gamma ? readContiguous(gamma) : null;
    const n = x.shape[x.shape.length - 1];
    const rows = n === 0 ? 0 : X.length / n;
    const dx = arrayFor(x.dtype, X.length);
    const gxhat = arrayFor(x.dtype, X.length);
    for (let r = 0; r < rows; r++) {
      let s1 = 0;
      let s2 = 0;
      for (let j = 0; j < n; j++) {
        const k = r * n + j;
        const xh = (X[k] - Mu[r]) * Rs[r];
        const gy = G[k] * (Gm ? Gm[j] : 1);
        s1 += gy;
        s2 += gy * xh;
        gxhat[k] = G[k] * xh;
      }
      for (let j = 0; j < n; j++) {
        const k = r * n + j;
        const xh = (X[k] - Mu[r]) * Rs[r];
        const gy = G[k] * (Gm ? Gm[j] : 1);
        dx[k] = Rs[r] * (gy - s1 / n - (xh * s2) / n);
      }
    }
    return { dx: this.wrap(dx), gxhat: this.wrap(gxhat) };
  }

  checkIndices(index: View, n: number, message: string): void {
    const I = readContiguous(index);
    const bad = I.findIndex((v) => !(v >= 0 && v < n));
    if (bad >= 0) throw new ShapeError(`${message} (index ${I[bad]} at position ${bad})`);
  }

  gather(x: View, axis: number, index: View): Storage {
    const X = readContiguous(x);
    const I = readContiguous(index);
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    const n = x.shape[axis];
    const out = arrayFor(x.dtype, outer * I.length * inner);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < I.length; i++) {
        if (!(I[i] >= 0 && I[i] < n)) continue; // out of range reads 0, as on the GPU
        for (let k = 0; k < inner; k++) out[(o * I.length + i) * inner + k] = X[(o * n + I[i]) * inner + k];
      }
    return this.wrap(out);
  }

  indexAdd(shape: readonly number[], axis: number, index: View, src: View): Storage {
    const S = readContiguous(src);
    const I = readContiguous(index);
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    const n = shape[axis];
    const acc = new Float64Array(sizeOf(shape));
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < I.length; i++) {
        if (!(I[i] >= 0 && I[i] < n)) continue; // out-of-range indices received nothing
        for (let k = 0; k < inner; k++) acc[(o * n + I[i]) * inner + k] += S[(o * I.length + i) * inner + k];
      }
    return this.wrap(store(src.dtype, acc));
  }

  concat(parts: View[], axis: number, shape: readonly number[]): Storage {
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    const out = arrayFor(parts[0].dtype, sizeOf(shape));
    let at = 0;
    for (const p of parts) {
      const P = readContiguous(p);
      const w = p.shape[axis] * inner;
      for (let o = 0; o < outer; o++) for (let k = 0; k < w; k++) out[o * shape[axis] * inner + at + k] = P[o * w + k];
      at += w;
    }
    return this.wrap(out);
  }

  random(kind: RandomKind, n: number, seed: number, counter: number, p0: number, p1: number, dtype: DType): Storage {
    const out = arrayFor(dtype, n);
    const rng = new Philox(seed);
    for (let i = 0; i < n; i++) out[i] = rng.sample(kind, counter + i, p0, p1);
    return this.wrap(out);
  }
}

function reduceValues(op: ReduceOp, v: Float64Array): number {
  switch (op) {
    case 'sum': {
      let s = 0;
      for (const x of v) s += x;
      return s;
    }
    case 'max':
      return v.length ? v.reduce((a, b) => (b > a || Number.isNaN(b) ? b : a), -Infinity) : -Infinity;
    case 'min':
      return v.length ? v.reduce((a, b) => (b < a || Number.isNaN(b) ? b : a), Infinity) : Infinity;
    case 'argmax': {
      let best = 0;
      for (let i = 1; i < v.length; i++) if (v[i] > v[best] || (Number.isNaN(v[i]) && !Number.isNaN(v[best]))) best = i;
      return best;
    }
    case 'argmin': {
      let best = 0;
      for (let i = 1; i < v.length; i++) if (v[i] < v[best] || (Number.isNaN(v[i]) && !Number.isNaN(v[best]))) best = i;
      return best;
    }
    case 'logsumexp': {
      let mx = -Infinity;
      for (const x of v) mx = Math.max(mx, x);
      if (!Number.isFinite(mx)) return mx; // ±inf or NaN is its own logsumexp
      let s = 0;
      for (const x of v) s += Math.exp(x - mx);
      return mx + Math.log(s);
    }
  }
}
