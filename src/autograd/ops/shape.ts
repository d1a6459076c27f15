/**
 * Shape ops. reshape (of a contiguous tensor), permute, transpose, expand, squeeze, unsqueeze and
 * slice are views: they share storage and copy nothing. concat, stack, indexSelect and oneHot
 * write new storage.
 */
import { COPY, BINARY, FILL, IOTA } from '../../backend/op-table.js';
import { contiguousStrides, isContiguous, sizeOf, type DType } from '../../backend/backend.js';
import { ShapeError, shapeStr } from '../../gpu/errors.js';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { backendOf, broadcastView, normAxis, sameShape, wrap } from './util.js';
import { mapRaw } from './elementwise.js';
import { sumTo } from './reduce.js';

/** A view op: shares storage; its gradient is `back(g)`. */
function viewOp(name: string, x: Tensor, shape: readonly number[], strides: readonly number[], offset: number, back: (g: Tensor) => Tensor): Tensor {
  const y = x.view([...shape], [...strides], offset);
  return record(name, y, [x], (g) => [back(g)]);
}

/** The same tensor under a new handle (same graph position). */
export function alias(x: Tensor): Tensor {
  return viewOp('alias', x, x.shape, x.strides, x.offset, (g) => g);
}

/** A contiguous copy (or x itself, as an alias, when already contiguous and `force` is false). */
export function contiguous(x: Tensor, force = false): Tensor {
  x.assertLive('copy');
  if (!force && x.isContiguous) return alias(x);
  const y = mapRaw(COPY, [x], [], x.dtype, x.shape);
  return record('contiguous', y, [x], (g) => [g]);
}

export function reshape(x: Tensor, shape: number[]): Tensor {
  x.assertLive('reshape');
  const infer = shape.indexOf(-1);
  const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const resolved = [...shape];
  if (infer >= 0) {
    if (shape.lastIndexOf(-1) !== infer) throw new ShapeError(`reshape: only one -1 allowed in ${shapeStr(shape)}`);
    if (known === 0 || x.size % known !== 0) throw new ShapeError(`reshape: cannot infer -1 reshaping ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
    resolved[infer] = x.size / known;
  }
  if (sizeOf(resolved) !== x.size || resolved.some((d) => d < 0 || !Number.isInteger(d))) {
    throw new ShapeError(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
  }
  const src = isContiguous(x) ? x : contiguous(x);
  const y = viewOp('reshape', src, resolved, contiguousStrides(resolved), src.offset, (g) => reshape(g, [...x.shape]));
  if (src !== x) src.dispose();
  return y;
}

export function permute(x: Tensor, dims: number[]): Tensor {
  if (dims.length !== x.rank || new Set(dims.map((d) => normAxis(d, x.rank, 'permute'))).size !== x.rank) {
    throw new ShapeError(`permute: [${dims}] is not a permutation of the ${x.rank} axes of ${shapeStr(x.shape)}`);
  }
  const p = dims.map((d) => normAxis(d, x.rank, 'permute'));
  const inv = new Array<number>(p.length);
  p.forEach((d, i) => (inv[d] = i));
  return viewOp(
    'permute',
    x,
    p.map((d) => x.shape[d]),
    p.map((d) => x.strides[d]),
    x.offset,
    (g) => permute(g, inv),
  );
}

export function transpose(x: Tensor, d0 = -2, d1 = -1): Tensor {
  if (x.rank < 2) return alias(x);
  const a = normAxis(d0, x.rank, 'transpose');
  const b = normAxis(d1, x.rank, 'transpose');
  const dims = x.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

export function expand(x: Tensor, shape: number[]): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0 || shape.some((d, i) => d === -1 && i < lead)) throw new ShapeError(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - lead] : d));
  // Each dim of x is kept or, when 1, repeated.
  if (x.shape.some((d, i) => d !== 1 && d !== target[i + lead])) throw new ShapeError(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  const v = broadcastView(x, target);
  return viewOp('expand', x, v.shape, v.strides, x.offset, (g) => sumTo(g, x.shape));
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis(axis, x.rank + 1, 'unsqueeze');
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(a, 0, 1);
  strides.splice(a, 0, a < x.rank ? x.strides[a] * x.shape[a] : 1);
  return viewOp('unsqueeze', x, shape, strides, x.offset, (g) => reshape(g, [...x.shape]));
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  const drop = axis === undefined ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : [normAxis(axis, x.rank, 'squeeze')];
  for (const a of drop) if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of ${shapeStr(x.shape)} has size ${x.shape[a]}, not 1`);
  return viewOp(
    'squeeze',
    x,
    x.shape.filter((_, i) => !drop.includes(i)),
    x.strides.filter((_, i) => !drop.includes(i)),
    x.offset,
    (g) => reshape(g, [...x.shape]),
  );
}

export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normAxis(start, x.rank, 'flatten');
  const e = normAxis(end, x.rank, 'flatten');
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

/** Elements start..end (exclusive) along axis, as a view. Negative indices count from the end. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const a = normAxis(axis, x.rank, 'slice');
  const n = x.shape[a];
  const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
  const e = Math.min(Math.max(end === undefined ? n : end < 0 ? end + n : end, s), n);
  const shape = [...x.shape];
  shape[a] = e - s;
  return viewOp('slice', x, shape, x.strides, x.offset + s * x.strides[a], (g) => {
    // Pad the gradient with zeros before and after the slice.
    const parts: Tensor[] = [];
    const zshape = (len: number) => g.shape.map((d, i) => (i === a ? len : d));
    if (s > 0) parts.push(fill(g, zshape(s), 0));
    parts.push(g);
    if (n - e > 0) parts.push(fill(g, zshape(n - e), 0));
    return parts.length === 1 ? g : concat(parts, a);
  });
}

/** Splits into pieces of the given sizes (or `n` equal pieces) along axis: views. */
export function split(x: Tensor, sizes: number | number[], axis = 0): Tensor[] {
  const a = normAxis(axis, x.rank, 'split');
  const n = x.shape[a];
  let list: number[];
  if (typeof sizes === 'number') {
    if (n % sizes !== 0) throw new ShapeError(`split: axis ${a} of ${shapeStr(x.shape)} does not divide into ${sizes} equal parts`);
    list = new Array(sizes).fill(n / sizes);
  } else {
    list = sizes;
    if (list.reduce((p, v) => p + v, 0) !== n) throw new ShapeError(`split: sizes [${sizes}] do not add up to ${n} (axis ${a} of ${shapeStr(x.shape)})`);
  }
  let at = 0;
  return list.map((len) => {
    const part = slice(x, a, at, at + len);
    at += len;
    return part;
  });
}

/** A tensor of `shape` filled with v on like's backend (no upload). */
export function fill(like: Tensor, shape: readonly number[], v: number, dtype: DType = like.dtype): Tensor {
  return wrap(like.backend.map(FILL, [], shape, dtype, [v]), shape, dtype);
}

export const zerosLike = (x: Tensor) => fill(x, x.shape, 0);
export const onesLike = (x: Tensor) => fill(x, x.shape, 1);

export function concat(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: no tensors given');
  const backend = backendOf('concat', ...tensors);
  const first = tensors[0];
  const a = normAxis(axis, first.rank, 'concat');
  for (const t of tensors) {
    if (t.rank !== first.rank || t.dtype !== first.dtype || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(`concat along axis ${a}: ${t.describe()} does not match ${first.describe()}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((p, t) => p + t.shape[a], 0);
  const y = wrap(backend.concat(tensors, a, shape), shape, first.dtype);
  return record('concat', y, tensors, (g) => split(g, tensors.map((t) => t.shape[a]), a));
}

export function stack(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack: no tensors given');
  for (const t of tensors) {
    if (!sameShape(t.shape, tensors[0].shape)) throw new ShapeError(`stack: ${t.describe()} differs from ${tensors[0].describe()}`);
  }
  const ax = normAxis(axis, tensors[0].rank + 1, 'stack');
  const parts = tensors.map((t) => unsqueeze(t, ax));
  const y = concat(parts, ax);
  parts.forEach((p) => p.dispose());
  return y;
}

/**
 * out[..., i, ...] = x[..., index[i], ...] along axis; index is a 1-D int32 tensor. Indices live on
 * the device, so they are not checked: one out of range (or negative) selects zeros.
 */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  const backend = backendOf('indexSelect', x, index);
  const a = normAxis(axis, x.rank, 'indexSelect');
  if (index.dtype !== 'int32') throw new ShapeError(`indexSelect: index must be int32, got ${index.describe()}`);
  if (index.rank !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got ${index.describe()}`);
  const shape = [...x.shape];
  shape[a] = index.shape[0];
  const y = wrap(backend.gather(x, a, index), shape, x.dtype);
  return record(
    'indexSelect',
    y,
    [x],
    (g, [idx]) => [wrap(backend.indexAdd(x.shape, a, idx, g), x.shape, g.dtype)],
    [index],
  );
}

/** One-hot encoding (float32 by default) of int32 class indices: shape [...index.shape, numClasses]. */
export function oneHot(index: Tensor, numClasses: number, dtype: DType = 'float32'): Tensor {
  backendOf('oneHot', index);
  if (index.dtype !== 'int32') throw new ShapeError(`oneHot: index must be int32, got ${index.describe()}`);
  if (!Number.isInteger(numClasses) || numClasses < 0) throw new ShapeError(`oneHot: numClasses must be a non-negative integer, got ${numClasses}`);
  const shape = [...index.shape, numClasses];
  const classes = wrap(index.backend.map(IOTA, [], [numClasses], 'float32', [0, 1]), [numClasses], 'float32');
  const idx = unsqueeze(index, index.rank);
  const y = mapRaw(BINARY.eq.op, [idx, classes], [], dtype, shape);
  idx.dispose();
  classes.dispose();
  return y;
}
