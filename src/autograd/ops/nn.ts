/** Neural-network ops: softmax, logSoftmax, layerNorm, l2Normalize, dropout. */
import { MASK_SCALE } from '../../backend/op-table.js';
import { ShapeError } from '../../gpu/errors.js';
import { record, tidy } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { backendOf, normAxis, requireFloat, wrap } from './util.js';
import { mapRaw } from './elementwise.js';
import * as E from './elementwise.js';
import { sum } from './reduce.js';
import { permute, reshape } from './shape.js';
import { randomRaw } from './random.js';

function lastAxis(x: Tensor, axis: number, op: string, fn: (t: Tensor) => Tensor): Tensor {
  const a = normAxis(axis, x.rank, op);
  if (a === x.rank - 1 || x.rank === 0) return fn(x);
  const dims = x.shape.map((_, i) => i);
  dims[a] = x.rank - 1;
  dims[x.rank - 1] = a;
  const moved = permute(x, dims);
  const y = fn(moved);
  const back = permute(y, dims);
  moved.dispose();
  y.dispose();
  return back;
}

function softmaxLast(x: Tensor, log: boolean): Tensor {
  const backend = backendOf('softmax', x);
  const y = wrap(backend.softmax(x, log), x.shape, x.dtype);
  return record(log ? 'logSoftmax' : 'softmax', y, [x], (g, [ys]) => [wrap(backend.softmaxGrad(ys, g, log), x.shape, x.dtype)], [y]);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  requireFloat('softmax', x);
  return lastAxis(x, axis, 'softmax', (t) => softmaxLast(t, false));
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireFloat('logSoftmax', x);
  return lastAxis(x, axis, 'logSoftmax', (t) => softmaxLast(t, true));
}

/** LayerNorm over the last dimension with optional affine weight and bias (each [D]). */
export function layerNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  requireFloat('layerNorm', x);
  const backend = backendOf('layerNorm', x, ...(weight ? [weight] : []), ...(bias ? [bias] : []));
  if (x.rank === 0) throw new ShapeError(`layerNorm: needs at least one dimension, got ${x.describe()}`);
  const D = x.shape[x.rank - 1];
  for (const [n, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p && (p.rank !== 1 || p.shape[0] !== D)) throw new ShapeError(`layerNorm: ${n} ${p.describe()} must be [${D}] for input ${x.describe()}`);
  }
  if ((weight === null) !== (bias === null)) throw new ShapeError('layerNorm: give both weight and bias, or neither');
  const r = backend.layerNorm(x, weight, bias, eps);
  const rowShape = x.shape.slice(0, -1);
  const y = wrap(r.y, x.shape, x.dtype);
  const mean = wrap(r.mean, rowShape, x.dtype);
  const rstd = wrap(r.rstd, rowShape, x.dtype);
  const inputs = weight && bias ? [x, weight, bias] : [x];
  const out = record(
    'layerNorm',
    y,
    inputs,
    (g, [xs, ms, rs, ws]) => {
      const gr = backend.layerNormGrad(xs, ms, rs, ws ?? null, g);
      const dx = wrap(gr.dx, x.shape, x.dtype);
      if (!weight) {
        gr.gxhat.release(); // only dgamma needs g·x̂
        return [dx];
      }
      const gxhat = wrap(gr.gxhat, x.shape, x.dtype);
      const rows = x.size / Math.max(D, 1);
      return [dx, sum(reshape(gxhat, [rows, D]), 0), sum(reshape(g, [rows, D]), 0)];
    },
    weight ? [x, mean, rstd, weight] : [x, mean, rstd],
  );
  mean.dispose();
  rstd.dispose();
  return out;
}

/**
 * x / max(‖x‖₂, eps) along axis (PyTorch's F.normalize), computed as x · rsqrt(max(Σx², eps²)):
 * the same function, but a zero row gets a zero gradient instead of sqrt's 0/0 = NaN.
 */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  requireFloat('l2Normalize', x);
  return tidy(() => E.mul(x, E.rsqrt(E.maximum(sum(E.mul(x, x), axis, true), eps * eps))));
}

/** Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p). */
export function dropout(x: Tensor, p: number, training = true): Tensor {
  requireFloat('dropout', x);
  if (p < 0 || p >= 1) throw new ShapeError(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return E.mul(x, 1);
  const mask = randomRaw(x, 'bernoulli', x.shape, 1 - p, 0);
  const scale = 1 / (1 - p);
  const y = mapRaw(MASK_SCALE, [x, mask], [scale], x.dtype, x.shape);
  const out = record('dropout', y, [x], (g, [ms]) => [mapRaw(MASK_SCALE, [g, ms], [scale], g.dtype, g.shape)], [mask]);
  mask.dispose();
  return out;
}
