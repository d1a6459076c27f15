/** Reductions over any axes with keepDims, and their gradients. */
import type { ReduceOp } from '../../backend/backend.js';
import { MASK_SCALE } from '../../backend/op-table.js';
import { ShapeError, shapeStr } from '../../gpu/errors.js';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { backendOf, broadcastView, normAxes, normAxis, requireFloat, sameShape, wrap } from './util.js';
import { mapRaw } from './elementwise.js';
import * as E from './elementwise.js';
import { reshape } from './shape.js';

function keptShape(shape: readonly number[], axes: number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function reduceRaw(op: ReduceOp, x: Tensor, axes: number[], keepDims: boolean, scale = 1): Tensor {
  const backend = backendOf(op, x);
  const dtype = op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype;
  return wrap(backend.reduce(op, x, axes, scale), keptShape(x.shape, axes, keepDims), dtype);
}

/** g (reduced shape) viewed with size-1 dims restored and broadcast back to `shape`. */
function expandBack(g: Tensor, shape: readonly number[], axes: number[]): Tensor {
  const withOnes = reshape(g, shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  const v = broadcastView(withOnes, shape);
  const out = withOnes.view(v.shape, v.strides);
  withOnes.dispose();
  return out;
}

/** Sum over axes (all by default). int32 sums stay int32 (exact below 2^24) and carry no gradient. */
export function sum(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  backendOf('sum', x);
  const ax = normAxes(axes, x.rank, 'sum');
  const y = reduceRaw('sum', x, ax, keepDims);
  return record('sum', y, [x], (g) => [expandBack(g, x.shape, ax)]);
}

export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  requireFloat('mean', x);
  const ax = normAxes(axes, x.rank, 'mean');
  const n = ax.reduce((p, a) => p * x.shape[a], 1);
  const y = reduceRaw('sum', x, ax, keepDims, n === 0 ? NaN : 1 / n);
  return record('mean', y, [x], (g) => {
    const e = expandBack(g, x.shape, ax);
    const r = E.mul(e, 1 / n);
    e.dispose();
    return [r];
  });
}

function extremum(op: 'max' | 'min', x: Tensor, axes: number | number[] | undefined, keepDims: boolean): Tensor {
  backendOf(op, x);
  const ax = normAxes(axes, x.rank, op);
  if (ax.some((a) => x.shape[a] === 0)) throw new ShapeError(`${op}: cannot reduce an empty axis of ${shapeStr(x.shape)}`);
  const y = reduceRaw(op, x, ax, keepDims);
  // Gradient split evenly among tied extrema (PyTorch's amax/amin rule).
  return record(
    op,
    y,
    [x],
    (g, [xs, ys]) => {
      const yb = expandBack(ys, x.shape, ax);
      const mask = E.eq(xs, yb);
      const count = sum(mask, ax, true);
      const gb = expandBack(g, x.shape, ax);
      const share = E.div(gb, broadcastTensor(count, x.shape));
      return [mapRaw(MASK_SCALE, [share, mask], [1], share.dtype, x.shape)];
    },
    [x, y],
  );
}

function broadcastTensor(t: Tensor, shape: readonly number[]): Tensor {
  const v = broadcastView(t, shape);
  return t.view(v.shape, v.strides);
}

export const max = (x: Tensor, axes?: number | number[], keepDims = false) => extremum('max', x, axes, keepDims);
export const min = (x: Tensor, axes?: number | number[], keepDims = false) => extremum('min', x, axes, keepDims);

function argExtremum(op: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, keepDims: boolean): Tensor {
  if (axis === undefined) {
    const flat = reshape(x, [x.size]);
    const r = reduceRaw(op, flat, [0], false);
    flat.dispose();
    return r;
  }
  const a = normAxis(axis, x.rank, op);
  if (x.shape[a] === 0) throw new ShapeError(`${op}: axis ${axis} of ${shapeStr(x.shape)} is empty`);
  return reduceRaw(op, x, [a], keepDims);
}
export const argmax = (x: Tensor, axis?: number, keepDims = false) => argExtremum('argmax', x, axis, keepDims);
export const argmin = (x: Tensor, axis?: number, keepDims = false) => argExtremum('argmin', x, axis, keepDims);

/** log(sum(exp(x))) over axes, computed stably in one kernel. Gradient: g * exp(x - y). */
export function logsumexp(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  requireFloat('logsumexp', x);
  const ax = normAxes(axes, x.rank, 'logsumexp');
  const y = reduceRaw('logsumexp', x, ax, keepDims);
  return record(
    'logsumexp',
    y,
    [x],
    (g, [xs, ys]) => {
      const yb = expandBack(ys, x.shape, ax);
      const p = E.exp(E.sub(xs, yb));
      return [E.mul(p, expandBack(g, x.shape, ax))];
    },
    [x, y],
  );
}

/** Sums g down to `shape` (undoing broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = sum(g, axes, true);
  const r = reshape(s, [...shape]);
  s.dispose();
  return r;
}
