/**
 * Elementwise ops with broadcasting. The math of each is in src/backend/op-table.ts; here they
 * get their autograd: each input gradient is one fused map kernel over (inputs, output, g),
 * summed back to the input's shape where it was broadcast. The plain ops' functions are generated
 * from the table's SURFACE rows (./generated.ts, via callSurface); gelu, clamp, where and cast,
 * which take options, are written here.
 */
import { BINARY, COPY, SURFACE, UNARY, WHERE, WHERE_GRAD_A, WHERE_GRAD_B, FILL, type GradRule, type MapOp, type SurfaceName, type SurfaceOp } from '../../backend/op-table.js';
import type { DType } from '../../backend/backend.js';
import { ShapeError, shapeStr } from '../../gpu/errors.js';
import { record } from '../engine.js';
import type { Tensor, TensorLike } from '../tensor.js';
import { backendOf, broadcastShapes, broadcastView, requireFloat, sameShape, wrap } from './util.js';
import { sumTo } from './reduce.js';
import { alias } from './shape.js';

/** Runs a map op over tensors broadcast to their common shape; no graph. */
export function mapRaw(op: MapOp, inputs: Tensor[], params: number[] = [], outDtype: DType = 'float32', shape?: readonly number[]): Tensor {
  const backend = backendOf(op.name, ...inputs);
  const out = shape ?? broadcastShapes(op.name, ...inputs.map((t) => t.shape));
  const views = inputs.map((t) => broadcastView(t, out));
  const dt = outDtype === 'float32' && inputs.some((t) => t.dtype === 'float64') ? 'float64' : outDtype;
  return wrap(backend.map(op, views, out, dt, params), out, dt);
}

function applyGrad(rule: GradRule, operands: Tensor[], params: number[]): Tensor {
  const g = operands[operands.length - 1];
  return rule === 'g' ? g : mapRaw(rule, operands, params, g.dtype, g.shape);
}

/** The name users know an internal op by (errors name what the user called). */
const PUBLIC_NAME: Record<string, string> = {
  addScalar: 'add', mulScalar: 'mul', rsubScalar: 'sub', rdivScalar: 'div', powScalar: 'pow',
  maxScalar: 'maximum', minScalar: 'minimum', geluTanh: 'gelu',
};

/** Ops that keep int32 when every operand is int32 (and every scalar an integer); the rest need floats. */
const INT_OPS = new Set(['add', 'sub', 'mul', 'maximum', 'minimum', 'neg', 'abs', 'clamp', 'addScalar', 'mulScalar', 'rsubScalar', 'maxScalar', 'minScalar']);

/**
 * Result dtype: float64 if any input is, else float32 if any is float, else int32 for the integer
 * ops above (computed in f32 by the kernel: exact for |values| < 2^24) and an error for the rest.
 */
function resultDtype(name: string, inputs: Tensor[], params: number[]): DType {
  if (inputs.some((t) => t.dtype === 'float64')) return 'float64';
  if (inputs.some((t) => t.dtype === 'float32')) return 'float32';
  if (!INT_OPS.has(name)) requireFloat(PUBLIC_NAME[name] ?? name, ...inputs);
  return params.every((p) => Number.isInteger(p)) ? 'int32' : 'float32';
}

export function unary(name: keyof typeof UNARY, x: Tensor, params: number[] = []): Tensor {
  const def = UNARY[name];
  backendOf(PUBLIC_NAME[name] ?? name, x);
  const y = mapRaw(def.op, [x], params, resultDtype(name, [x], params));
  const rule = def.grad;
  if (!rule) return y;
  return record(name, y, [x], (g, [xs, ys]) => [applyGrad(rule, [xs, ys, g], params)], [x, y]);
}

export function binary(name: keyof typeof BINARY, a: Tensor, b: Tensor): Tensor {
  const def = BINARY[name];
  backendOf(name, a, b);
  const y = mapRaw(def.op, [a, b], [], resultDtype(name, [a, b], []));
  const [ra, rb] = def.grads;
  if (!ra && !rb) return y;
  return record(
    name,
    y,
    [a, b],
    (g, [as, bs, ys]) => [
      ra && a.requiresGrad ? sumTo(applyGrad(ra, [as, bs, ys, g], []), a.shape) : null,
      rb && b.requiresGrad ? sumTo(applyGrad(rb, [as, bs, ys, g], []), b.shape) : null,
    ],
    [a, b, y],
  );
}

/** A scalar tensor on `like`'s backend, written by a kernel (no upload). */
function full0(like: Tensor, v: number): Tensor {
  const backend = like.backend;
  return wrap(backend.map(FILL, [], [], like.dtype === 'int32' ? 'float32' : like.dtype, [v]), [], like.dtype === 'int32' ? 'float32' : like.dtype);
}

function compare(name: keyof typeof BINARY, a: TensorLike, b: TensorLike): Tensor {
  const at = typeof a === 'number' ? full0(b as Tensor, a) : a;
  const bt = typeof b === 'number' ? full0(at, b) : b;
  const y = mapRaw(BINARY[name].op, [at, bt], [], 'float32');
  if (at !== a) at.dispose();
  if (bt !== b) bt.dispose();
  return y;
}

/**
 * Calls the user-facing op `name` as its SURFACE row says (src/backend/op-table.ts): the generated
 * functions and methods (./generated.ts) all come here. A number operand takes the row's scalar
 * form (`right` / `left`) where it has one, else becomes a scalar tensor.
 */
export function callSurface(name: SurfaceName, a: TensorLike, b?: TensorLike): Tensor {
  const row: SurfaceOp = SURFACE[name];
  if (row.kind === 'unary') return unary(row.op, a as Tensor);
  if (row.kind === 'compare') return compare(row.op, a, b!);
  if (row.float) requireFloat(name, ...[a, b].filter((t): t is Tensor => typeof t !== 'number'));
  if (typeof b === 'number' && row.right) return unary(...withTensor(row.right(b), a as Tensor));
  if (typeof a === 'number' && row.left) return unary(...withTensor(row.left(a), b as Tensor));
  const at = typeof a === 'number' ? full0(b as Tensor, a) : a;
  const bt = typeof b === 'number' ? full0(at, b) : b!;
  const y = binary(row.op, at, bt);
  if (at !== a) at.dispose();
  if (bt !== b) bt.dispose();
  return y;
}

function withTensor([op, params]: [keyof typeof UNARY, number[]], x: Tensor): [keyof typeof UNARY, Tensor, number[]] {
  return [op, x, params];
}

// add, sub, mul, div, pow, maximum, minimum, eq … ge, neg, exp, … tanh: one function per SURFACE row.
export * from './generated.js';

/** GELU; `approximate: 'tanh'` selects the tanh form (PyTorch's approximate='tanh'). */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  return unary(opts.approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
}
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (min > max) throw new ShapeError(`clamp: min ${min} > max ${max}`);
  return unary('clamp', x, [Math.max(min, -3.4e38), Math.min(max, 3.4e38)]);
}

/** where(cond, a, b): a where cond != 0, else b. Broadcasts all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const at = typeof a === 'number' ? full0(cond.dtype === 'int32' ? (b as Tensor) : cond, a) : a;
  const bt = typeof b === 'number' ? full0(at, b) : b;
  requireFloat('where', at, bt);
  const y = mapRaw(WHERE, [cond, at, bt], [], at.dtype);
  const out = record(
    'where',
    y,
    [at, bt],
    (g, [cs]) => [
      at.requiresGrad ? sumTo(mapRaw(WHERE_GRAD_A, [cs, g], [], g.dtype, g.shape), at.shape) : null,
      bt.requiresGrad ? sumTo(mapRaw(WHERE_GRAD_B, [cs, g], [], g.dtype, g.shape), bt.shape) : null,
    ],
    [cond],
  );
  if (at !== a) at.dispose();
  if (bt !== b) bt.dispose();
  return out;
}

/** Converts dtype (float32 <-> int32; float64 on the CPU backend). int32 truncates toward zero. */
export function cast(x: Tensor, dtype: DType): Tensor {
  backendOf('cast', x);
  if (x.dtype === dtype) return alias(x);
  if (dtype === 'float64' && !x.backend.supportsFloat64) throw new ShapeError(`cast: float64 is only available on the CPU backend (WebGPU has no f64); got ${x.describe()}`);
  const y = mapRaw(COPY, [x], [], dtype, x.shape);
  if (dtype === 'int32' || x.dtype === 'int32') return y;
  return record('cast', y, [x], (g) => [cast(g, x.dtype)]);
}

export function assertSameShape(op: string, a: Tensor, b: Tensor): void {
  if (!sameShape(a.shape, b.shape)) throw new ShapeError(`${op}: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} differ`);
}
