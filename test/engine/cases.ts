/**
 * The op cases the parity (device vs CPU reference) and gradcheck (finite differences) tests
 * share. Shapes cover broadcasting, odd sizes (1, 7, 1023), size-0 dims, scalars and strided
 * views (transposed, sliced with an offset, expanded with stride 0).
 */
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { inp, type InputSpec, type OpFn, type ParityOptions } from './harness.js';

export interface Case {
  name: string;
  fn: OpFn;
  specs: InputSpec[];
  opts?: ParityOptions;
  /** Run in gradcheck too (small, differentiable cases). */
  fd?: boolean;
}

const cases: Case[] = [];
const add = (name: string, fn: OpFn, specs: InputSpec[], opts: ParityOptions = {}, fd = false) => cases.push({ name, fn, specs, opts, fd });

// ---- elementwise unary ----------------------------------------------------------------------

const unaryShapes: { tag: string; spec: (kind: InputSpec['kind']) => InputSpec; fd?: boolean }[] = [
  { tag: '[7]', spec: (kind) => inp([7], { kind }), fd: true },
  { tag: '[1023]', spec: (kind) => inp([1023], { kind }) },
  { tag: '[3,0,2]', spec: (kind) => inp([3, 0, 2], { kind }) },
  { tag: 'scalar', spec: (kind) => inp([], { kind }) },
  { tag: '[4,5] T', spec: (kind) => inp([4, 5], { kind, view: 'T' }), fd: true },
  { tag: '[5,6] slice', spec: (kind) => inp([5, 6], { kind, view: 'slice' }) },
  { tag: '[4,3] bcast', spec: (kind) => inp([4, 3], { kind, view: 'bcast' }), fd: true },
];

const unaryOps: [string, (x: Tensor) => Tensor, InputSpec['kind']][] = [
  ['neg', (x) => x.neg(), 'normal'],
  ['exp', (x) => x.exp(), 'normal'],
  ['log', (x) => x.log(), 'positive'],
  ['sqrt', (x) => x.sqrt(), 'positive'],
  ['rsqrt', (x) => x.rsqrt(), 'positive'],
  ['abs', (x) => x.abs(), 'away'],
  ['relu', (x) => x.relu(), 'away'],
  ['gelu', (x) => x.gelu(), 'normal'],
  ['gelu tanh', (x) => x.gelu({ approximate: 'tanh' }), 'normal'],
  ['sigmoid', (x) => x.sigmoid(), 'normal'],
  ['tanh', (x) => x.tanh(), 'normal'],
  ['clamp', (x) => x.clamp(-0.5, 0.7), 'away'],
  ['square', (x) => x.square(), 'normal'],
  ['cast float->float', (x) => T.cast(x, x.dtype), 'normal'],
];
for (const [name, fn, kind] of unaryOps) {
  for (const s of unaryShapes) add(`${name} ${s.tag}`, fn, [s.spec(kind)], {}, !!s.fd);
}

// ---- elementwise binary ---------------------------------------------------------------------

const binaryShapes: { tag: string; specs: (ka: InputSpec['kind'], kb: InputSpec['kind']) => InputSpec[]; fd?: boolean }[] = [
  { tag: '[7]+[7]', specs: (ka, kb) => [inp([7], { kind: ka }), inp([7], { kind: kb })], fd: true },
  { tag: '[3,1,5]+[4,5]', specs: (ka, kb) => [inp([3, 1, 5], { kind: ka }), inp([4, 5], { kind: kb })], fd: true },
  { tag: '[1023]+[1]', specs: (ka, kb) => [inp([1023], { kind: ka }), inp([1], { kind: kb })] },
  { tag: '[0,3]+[3]', specs: (ka, kb) => [inp([0, 3], { kind: ka }), inp([3], { kind: kb })] },
  { tag: 'scalar+[2,3]', specs: (ka, kb) => [inp([], { kind: ka }), inp([2, 3], { kind: kb })], fd: true },
  { tag: 'T+slice', specs: (ka, kb) => [inp([4, 5], { kind: ka, view: 'T' }), inp([4, 5], { kind: kb, view: 'slice' })], fd: true },
  { tag: 'bcast+[3,4]', specs: (ka, kb) => [inp([2, 3, 4], { kind: ka, view: 'bcast' }), inp([3, 4], { kind: kb })] },
];
const binaryOps: [string, (a: Tensor, b: Tensor) => Tensor, InputSpec['kind'], InputSpec['kind']][] = [
  ['add', (a, b) => a.add(b), 'normal', 'normal'],
  ['sub', (a, b) => a.sub(b), 'normal', 'normal'],
  ['mul', (a, b) => a.mul(b), 'normal', 'normal'],
  ['div', (a, b) => a.div(b), 'normal', 'positive'],
  ['pow', (a, b) => a.pow(b), 'positive', 'normal'],
  ['maximum', (a, b) => a.maximum(b), 'normal', 'normal'],
  ['minimum', (a, b) => a.minimum(b), 'normal', 'normal'],
];
for (const [name, fn, ka, kb] of binaryOps) {
  for (const s of binaryShapes) add(`${name} ${s.tag}`, fn, s.specs(ka, kb), {}, !!s.fd);
}
// Broadcast patterns the elementwise kernel reads without a per-dim div/mod.
add('sub column [5,7]-[5,1]', (a, b) => a.sub(b), [inp([5, 7]), inp([5, 1])], {}, true);
add('outer mul [6,1]*[1,5]', (a, b) => a.mul(b), [inp([6, 1]), inp([1, 5])], {}, true);
add('add [2,3,4,5]+[3,1,5]', (a, b) => a.add(b), [inp([2, 3, 4, 5]), inp([3, 1, 5])]);
add('mul middle block [4,3,5]*[3,1]', (a, b) => a.mul(b), [inp([4, 3, 5]), inp([3, 1])], {}, true);
add('div rank 9 (dims merge)', (a, b) => a.div(b), [inp([2, 1, 2, 1, 2, 2, 1, 2, 3]), inp([2, 1, 2, 1, 2, 2, 1, 2, 3], { kind: 'positive' })]);
add('where with column cond', (c, a) => T.where(T.gt(c, 0), a, a.neg()), [inp([4, 1], { grad: false }), inp([4, 6])]);

// The same tensor on both sides (its gradient accumulates from both uses).
add('mul x*x', (x) => x.mul(x), [inp([5])], {}, true);
add('add x+x', (x) => x.add(x), [inp([5])], {}, true);
add('sub x-x.T', (x) => x.sub(x.transpose()), [inp([4, 4])], {}, true);

// Scalar operands.
const scalarOps: [string, (x: Tensor) => Tensor, InputSpec['kind']][] = [
  ['x+2.5', (x) => x.add(2.5), 'normal'],
  ['2.5+x', (x) => T.add(2.5, x), 'normal'],
  ['x-1.5', (x) => x.sub(1.5), 'normal'],
  ['1.5-x', (x) => T.sub(1.5, x), 'normal'],
  ['x*-3', (x) => x.mul(-3), 'normal'],
  ['2*x', (x) => T.mul(2, x), 'normal'],
  ['x/4', (x) => x.div(4), 'normal'],
  ['3/x', (x) => T.div(3, x), 'positive'],
  ['x^2', (x) => x.pow(2), 'normal'],
  ['x^3 (negative bases)', (x) => x.pow(3), 'normal'],
  ['x^-1.5', (x) => x.pow(-1.5), 'positive'],
  ['x^0', (x) => x.pow(0), 'normal'],
  ['2^x', (x) => T.pow(2, x), 'normal'],
  ['maximum(x,0.2)', (x) => x.maximum(0.2), 'normal'],
  ['minimum(x,-0.1)', (x) => x.minimum(-0.1), 'normal'],
];
for (const [name, fn, kind] of scalarOps) {
  add(`${name} [2,7]`, fn, [inp([2, 7], { kind })], {}, true);
  add(`${name} T`, fn, [inp([3, 5], { kind, view: 'T' })]);
}
// A tensor exponent with negative integer-valued bases follows the sign rule.
add('pow negative base, integer tensor exponent', (a, b) => a.pow(b), [inp([6], { kind: 'values', values: [-2, -1.5, -3, 0.5, 2, -0.25] }), inp([6], { kind: 'values', values: [2, 3, -1, 2, 0.5, 3], grad: false })]);

// Comparisons and where.
const cmpSpecs = () => [inp([4, 5], { kind: 'int', max: 3 }), inp([5], { kind: 'int', max: 3 })];
for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
  add(`${op} int broadcast`, (a, b) => T[op](a.toFloat(), b), cmpSpecs(), { exact: true, noGrad: true });
  add(`${op} scalar`, (a) => T[op](a, 0.25), [inp([3, 4])], { exact: true, noGrad: true });
}
add('where', (c, a, b) => T.where(T.gt(c, 0), a, b), [inp([3, 4], { grad: false }), inp([3, 4]), inp([4])], {}, true);
add('where scalar branch', (c, a) => T.where(T.gt(c, 0), a, 0.5), [inp([3, 4], { grad: false }), inp([3, 1])], {}, true);

// int32 arithmetic stays int32.
add('int add/mul/sub/max', (a, b) => T.maximum(a.add(b).mul(3).sub(2), b), [inp([3, 4], { kind: 'int', max: 50 }), inp([4], { kind: 'int', max: 50 })], { noGrad: true });
add('int sum/max/min', (a) => [a.sum(), a.sum(1), a.max(0), a.min(1, true)], [inp([3, 4], { kind: 'int', max: 50 })], { noGrad: true });
add('int * float promotes', (a, b) => a.mul(b), [inp([3, 4], { kind: 'int', max: 5 }), inp([4])]);
add('cast float->int->float', (x) => x.mul(10).toInt().toFloat(), [inp([9])], { noGrad: true, exact: true });

// ---- reductions -----------------------------------------------------------------------------

type Red = (x: Tensor, axes?: number | number[], keep?: boolean) => Tensor;
const reductions: [string, Red, boolean][] = [
  ['sum', (x, a, k) => x.sum(a, k), true],
  ['mean', (x, a, k) => x.mean(a, k), true],
  ['max', (x, a, k) => x.max(a, k), false],
  ['min', (x, a, k) => x.min(a, k), false],
  ['logsumexp', (x, a, k) => x.logsumexp(a, k), true],
];
for (const [name, r, emptyOk] of reductions) {
  add(`${name} all [7]`, (x) => r(x), [inp([7])], {}, true);
  add(`${name} scalar`, (x) => r(x), [inp([])]);
  add(`${name} [3,4,5] axis 1`, (x) => r(x, 1), [inp([3, 4, 5])], {}, true);
  add(`${name} [3,4,5] axes [0,2] keepDims`, (x) => r(x, [0, 2], true), [inp([3, 4, 5])], {}, true);
  add(`${name} [3,4,5] axes [-1,0]`, (x) => r(x, [-1, 0]), [inp([3, 4, 5])]);
  add(`${name} T view axes [0,1]`, (x) => r(x, [0, 1]), [inp([4, 5, 6], { view: 'T' })], {}, false);
  add(`${name} T view axes [1] keepDims`, (x) => r(x, [1], true), [inp([3, 4, 2], { view: 'T' })], {}, true);
  add(`${name} bcast view axis 0`, (x) => r(x, 0), [inp([4, 3], { view: 'bcast' })], {}, true);
  add(`${name} slice view axis 1`, (x) => r(x, 1), [inp([2, 9], { view: 'slice' })]);
  add(`${name} [2,1023] axis -1 (tree)`, (x) => r(x, -1), [inp([2, 1023])]);
  add(`${name} [1023,3] axis 0 (tree, strided)`, (x) => r(x, 0, true), [inp([1023, 3])]);
  add(`${name} [300,5,2] axes [0,2] (tree)`, (x) => r(x, [0, 2]), [inp([300, 5, 2])]);
  add(`${name} [2,0,3] axis 2`, (x) => r(x, 2), [inp([2, 0, 3])]);
  if (emptyOk) add(`${name} [2,0,3] axis 1 (empty reduction)`, (x) => r(x, 1), [inp([2, 0, 3])]);
}
// Float sums over back-to-back rows take the row kernel (src/backend/webgpu/reduce.ts): short rows, vec4 rows.
add('sum [37,5] axis -1 (row kernel)', (x) => x.sum(-1), [inp([37, 5])], {}, true);
add('mean [37,8] axis 1 keepDims (row kernel, vec4)', (x) => x.mean(1, true), [inp([37, 8])]);
add('sum [3,4,256] axes [1,2] (row kernel, merged axes)', (x) => x.sum([1, 2]), [inp([3, 4, 256])]);
// Float maxima over back-to-back rows take the row kernel too: NaN propagates, a row of -inf gives -inf.
add('max [37,5] axis -1 (row kernel)', (x) => x.max(-1), [inp([37, 5])]);
add('max [9,64] axis 1 keepDims (row kernel, vec4)', (x) => x.max(1, true), [inp([9, 64])]);
{
  const NI = -Infinity;
  const special = [1, NaN, 3, 2, NI, NI, NI, NI, -5, NI, -7, -6, 0, 4, NaN, NaN, 2, 8, 8, -1, 9, 9, 9, 9];
  add('max rows with NaN and -inf (row kernel, vec4)', (x) => x.max(-1), [inp([6, 4], { kind: 'values', values: special })], { noGrad: true });
  add('max rows with NaN and -inf (row kernel, scalar)', (x) => x.max(-1), [inp([8, 3], { kind: 'values', values: special })], { noGrad: true });
  add('max columns with NaN and -inf (generic kernel)', (x) => x.max(0), [inp([3, 8], { kind: 'values', values: special })], { noGrad: true });
  add('argmax columns with NaN (generic kernel)', (x) => x.argmax(0), [inp([3, 8], { kind: 'values', values: special })], { noGrad: true });
  add('logsumexp rows with NaN and -inf (generic kernel)', (x) => x.logsumexp(-1), [inp([6, 4], { kind: 'values', values: special })], { noGrad: true });
}
add('max with ties splits the gradient', (x) => x.max(1), [inp([2, 4], { kind: 'values', values: [1, 3, 3, 0, -1, -1, -2, -1] })]);
add('min with ties, all', (x) => x.min(), [inp([5], { kind: 'values', values: [2, 1, 1, 5, 1] })]);
for (const op of ['argmax', 'argmin'] as const) {
  add(`${op} [3,4,5] axis 1`, (x) => T[op](x, 1), [inp([3, 4, 5])], { noGrad: true });
  add(`${op} [2,1023] axis -1 keepDims`, (x) => T[op](x, -1, true), [inp([2, 1023])], { noGrad: true });
  add(`${op} all`, (x) => T[op](x), [inp([4, 6])], { noGrad: true });
  add(`${op} ties -> lowest index`, (x) => T[op](x, 1), [inp([3, 6], { kind: 'int', max: 2 })], { noGrad: true });
  add(`${op} T view axis 0`, (x) => T[op](x, 0), [inp([5, 7], { view: 'T' })], { noGrad: true });
}

// ---- matmul ---------------------------------------------------------------------------------

const mm = (a: Tensor, b: Tensor) => a.matmul(b);
add('matmul [3,5]@[5,4]', mm, [inp([3, 5]), inp([5, 4])], {}, true);
add('matmul [7,1]@[1,7]', mm, [inp([7, 1]), inp([1, 7])]);
add('matmul [1,1]@[1,1]', mm, [inp([1, 1]), inp([1, 1])]);
add('matmul [65,130]@[130,67] (several tiles)', mm, [inp([65, 130]), inp([130, 67])]);
add('matmul batched [2,3,5]@[2,5,4]', mm, [inp([2, 3, 5]), inp([2, 5, 4])], {}, true);
add('matmul broadcast [2,3,5]@[5,4]', mm, [inp([2, 3, 5]), inp([5, 4])], {}, true);
add('matmul broadcast [2,1,3,5]@[4,5,2]', mm, [inp([2, 1, 3, 5]), inp([4, 5, 2])]);
add('matmul A^T @ B (views)', (a, b) => a.T.matmul(b), [inp([5, 3]), inp([5, 4])], {}, true);
add('matmul A @ B^T (views)', (a, b) => a.matmul(b.T), [inp([3, 5]), inp([4, 5])], {}, true);
add('matmul T-stored operands', mm, [inp([6, 9], { view: 'T' }), inp([9, 5], { view: 'T' })]);
add('matmul sliced operand', mm, [inp([4, 6], { view: 'slice' }), inp([6, 3])]);
add('matmul stride-0 batch', mm, [inp([3, 2, 4], { view: 'bcast' }), inp([3, 4, 5])]);
add('matmul vec@mat', mm, [inp([5]), inp([5, 3])], {}, true);
add('matmul mat@vec', mm, [inp([3, 5]), inp([5])], {}, true);
add('matmul vec@vec', mm, [inp([6]), inp([6])]);
add('matmul K=0', mm, [inp([3, 0]), inp([0, 4])]);
add('matmul M=0', mm, [inp([0, 5]), inp([5, 4])]);
add('matmul batch 0', mm, [inp([0, 2, 3]), inp([3, 4])]);
add('linear bias relu', (x, w, b) => T.linear(x, w, b, 'relu'), [inp([6, 5]), inp([4, 5]), inp([4])], {}, true);
add('linear bias gelu', (x, w, b) => T.linear(x, w, b, 'gelu'), [inp([2, 3, 5]), inp([4, 5]), inp([4])], {}, true);
add('linear no bias', (x, w) => T.linear(x, w), [inp([6, 5]), inp([4, 5])], {}, true);
add('linear gelu no grad', (x, w, b) => T.linear(x, w, b, 'gelu'), [inp([6, 5], { grad: false }), inp([4, 5], { grad: false }), inp([4], { grad: false })], { noGrad: true });

// ---- nn -------------------------------------------------------------------------------------

for (const [name, f] of [
  ['softmax', (x: Tensor, a: number) => x.softmax(a)],
  ['logSoftmax', (x: Tensor, a: number) => x.logSoftmax(a)],
] as const) {
  add(`${name} [3,7] axis -1`, (x) => f(x, -1), [inp([3, 7])], {}, true);
  add(`${name} [2,1023]`, (x) => f(x, -1), [inp([2, 1023], { scale: 3 })]);
  add(`${name} [4,5,6] axis 1`, (x) => f(x, 1), [inp([4, 5, 6])], {}, false);
  add(`${name} [3,4] axis 0`, (x) => f(x, 0), [inp([3, 4])], {}, true);
  add(`${name} [5,1]`, (x) => f(x, -1), [inp([5, 1])]);
  add(`${name} [4,0]`, (x) => f(x, -1), [inp([4, 0])]);
  add(`${name} [0,4]`, (x) => f(x, -1), [inp([0, 4])]);
  add(`${name} T view`, (x) => f(x, -1), [inp([4, 6], { view: 'T' })], {}, true);
  add(`${name} large logits`, (x) => f(x, -1), [inp([2, 5], { scale: 40 })]);
  // Rows of a multiple of 4 take the vec4 path.
  add(`${name} [3,1024] vec4`, (x) => f(x, -1), [inp([3, 1024], { scale: 3 })]);
  add(`${name} [6,8] vec4 large logits`, (x) => f(x, -1), [inp([6, 8], { scale: 40 })], {}, true);
  // Short rows share a workgroup (L lanes per row); 37 rows leave the last workgroup part-empty.
  add(`${name} [37,3] short rows`, (x) => f(x, -1), [inp([37, 3])]);
  add(`${name} [37,4] one vec4 per row`, (x) => f(x, -1), [inp([37, 4])]);
  add(`${name} [37,20] rows of 5 vec4`, (x) => f(x, -1), [inp([37, 20])]);
  // Rows too long for the forward's register cache stream through twice.
  add(`${name} [2,9000] long rows`, (x) => f(x, -1), [inp([2, 9000], { scale: 3 })]);
}
// Rows past 65,535 workgroups fold the grid into 2-D. (A large eps keeps short rows well conditioned in f32.)
add('softmax [65600,2] (grid folds)', (x) => x.softmax(), [inp([65600, 2])]);
add('layerNorm [65600,3] (grid folds)', (x) => T.layerNorm(x, null, null, 0.1), [inp([65600, 3])]);
add('layerNorm [3,7]', (x) => T.layerNorm(x), [inp([3, 7])], {}, true);
add('layerNorm [3,7] affine', (x, w, b) => T.layerNorm(x, w, b), [inp([3, 7]), inp([7]), inp([7])], {}, true);
add('layerNorm [2,1023] affine', (x, w, b) => T.layerNorm(x, w, b), [inp([2, 1023]), inp([1023]), inp([1023])], { rtol: 2e-4, atol: 2e-4 });
add('layerNorm [5,1]', (x) => T.layerNorm(x), [inp([5, 1])]);
add('layerNorm [3,8] affine vec4', (x, w, b) => T.layerNorm(x, w, b), [inp([3, 8]), inp([8]), inp([8])], {}, true);
add('layerNorm [37,5] affine short rows', (x, w, b) => T.layerNorm(x, w, b, 1e-2), [inp([37, 5]), inp([5]), inp([5])]);
add('layerNorm [37,12] affine rows of 3 vec4', (x, w, b) => T.layerNorm(x, w, b, 1e-2), [inp([37, 12]), inp([12]), inp([12])]);
add('layerNorm [2,1024] vec4', (x) => T.layerNorm(x), [inp([2, 1024])], { rtol: 2e-4, atol: 2e-4 });
add('layerNorm T view affine', (x, w, b) => T.layerNorm(x, w, b, 1e-3), [inp([2, 3, 4], { view: 'T' }), inp([4]), inp([4])], {}, true);
add('layerNorm [0,4] affine', (x, w, b) => T.layerNorm(x, w, b), [inp([0, 4]), inp([4]), inp([4])]);
add('layerNorm sliced weight', (x, w, b) => T.layerNorm(x, w, b), [inp([3, 5]), inp([5], { view: 'slice' }), inp([5])]);
add('l2Normalize [3,7] axis -1', (x) => x.l2Normalize(), [inp([3, 7])], {}, true);
add('l2Normalize [4,5] axis 0', (x) => T.l2Normalize(x, 0), [inp([4, 5])], {}, true);
add('l2Normalize zero row', (x) => x.l2Normalize(), [inp([2, 3], { kind: 'values', values: [0, 0, 0, 1, 2, 3] })]);
add('dropout p=0.3', (x) => T.dropout(x, 0.3), [inp([4, 257])], { before: () => T.manualSeed(77) });
add('dropout eval', (x) => T.dropout(x, 0.3, false), [inp([4, 5])], {}, true);

// ---- shape ----------------------------------------------------------------------------------

add('reshape contiguous', (x) => x.reshape([2, -1, 3]), [inp([4, 6])], {}, true);
add('reshape of T view (copies)', (x) => x.reshape([6, 4]), [inp([4, 6], { view: 'T' })], {}, true);
add('reshape of slice', (x) => x.reshape([-1]), [inp([3, 4], { view: 'slice' })]);
add('reshape size 0', (x) => x.reshape([3, 0]), [inp([0, 3])]);
add('permute', (x) => x.permute([2, 0, 1]).mul(1), [inp([2, 3, 4])], {}, true);
add('transpose', (x) => x.transpose(0, 2), [inp([2, 3, 4])], {}, true);
add('expand', (x) => x.expand([3, 4, 5]), [inp([4, 1])], {}, true);
add('expand -1', (x) => x.expand([2, -1, 3]), [inp([4, 1])], {}, true);
add('squeeze/unsqueeze/flatten', (x) => x.unsqueeze(1).squeeze(1).unsqueeze(-1).flatten(), [inp([3, 1, 4], { view: 'T' })], {}, true);
add('contiguous of T', (x) => x.contiguous(), [inp([3, 5], { view: 'T' })], {}, true);
add('clone', (x) => x.clone(), [inp([3, 5])], {}, true);
add('concat axis 0', (a, b, c) => T.concat([a, b, c], 0), [inp([2, 3]), inp([0, 3]), inp([4, 3], { view: 'T' })], {}, true);
add('concat axis 1 with views', (a, b) => T.concat([a, b], 1), [inp([3, 2], { view: 'slice' }), inp([3, 5], { view: 'bcast' })], {}, true);
add('concat same tensor twice', (a) => T.concat([a, a, a], -1), [inp([2, 3])], {}, true);
add('concat [1023] parts', (a, b) => T.concat([a, b]), [inp([1023]), inp([1])]);
add('concat int32', (a, b) => T.concat([a, b], 1), [inp([2, 2], { kind: 'int' }), inp([2, 3], { kind: 'int' })], { noGrad: true });
add('split sizes', (x) => x.split([1, 3, 0, 2], 1), [inp([3, 6])], {}, true);
add('split equal', (x) => x.split(2, 0), [inp([4, 3], { view: 'T' })], {}, true);
add('slice', (x) => x.slice(1, 1, 4), [inp([3, 6])], {}, true);
add('slice negative', (x) => x.slice(0, -3, -1), [inp([5, 2])], {}, true);
add('slice empty', (x) => x.slice(0, 2, 2), [inp([5, 2])]);
add('slice of slice of T', (x) => x.slice(0, 1).slice(1, 0, 2), [inp([4, 3], { view: 'T' })], {}, true);
add('narrow', (x) => x.narrow(1, 2, 3), [inp([2, 7])], {}, true);
add('stack axis 1', (a, b) => T.stack([a, b], 1), [inp([3, 4]), inp([3, 4], { view: 'T' })], {}, true);
add('stack axis -1', (a, b) => T.stack([a, b], -1), [inp([3]), inp([3])], {}, true);
const idx = (values: number[], grad = false) => inp([values.length], { kind: 'values', values, grad });
add('indexSelect axis 0 repeated', (x, i) => x.indexSelect(0, i.toInt()), [inp([5, 3]), idx([4, 0, 4, 2, 4])], {}, true);
add('indexSelect axis 1 of T', (x, i) => T.indexSelect(x, 1, i.toInt()), [inp([3, 6], { view: 'T' }), idx([5, 1])], {}, true);
add('indexSelect axis 2', (x, i) => x.gather(2, i.toInt()), [inp([2, 3, 4]), idx([3, 3, 0])], {}, true);
add('indexSelect out-of-range indices read 0', (x, i) => x.indexSelect(1, i.toInt()), [inp([2, 3]), idx([2, 3, -1, 0])]);
// The backward adds atomically: many repeats of one target, and a longer random index list.
add('indexSelect 1000 repeats of one row', (x, i) => x.indexSelect(0, i.toInt()), [inp([5, 3]), idx(Array.from({ length: 1000 }, (_, k) => (k % 7 === 0 ? 1 : 3)))]);
add('indexSelect 300 random rows of 50', (x, i) => x.indexSelect(0, i.toInt()), [inp([50, 7]), idx(Array.from({ length: 300 }, (_, k) => (k * 37 + 11) % 53 - 1))]);
add('indexSelect empty index', (x, i) => x.indexSelect(0, i.toInt()), [inp([5, 3]), idx([])]);
add('indexSelect int32 table', (x, i) => x.indexSelect(0, i.toInt()), [inp([4, 3], { kind: 'int' }), idx([3, 1])], { noGrad: true });
add('oneHot', (i) => T.oneHot(i, 5), [inp([2, 3], { kind: 'int', max: 5 })], { noGrad: true, exact: true });

// ---- losses ---------------------------------------------------------------------------------

const labels = (n: number, c: number) => inp([n], { kind: 'int', max: c });
add('crossEntropy indices', (x, t) => T.crossEntropy(x, t), [inp([6, 5]), labels(6, 5)], {}, true);
add('crossEntropy label smoothing', (x, t) => T.crossEntropy(x, t, { labelSmoothing: 0.1 }), [inp([6, 5]), labels(6, 5)], {}, true);
add('crossEntropy sum', (x, t) => T.crossEntropy(x, t, { reduction: 'sum' }), [inp([4, 3]), labels(4, 3)], {}, true);
add('crossEntropy none', (x, t) => T.crossEntropy(x, t, { reduction: 'none' }), [inp([4, 3]), labels(4, 3)], {}, true);
add('crossEntropy probabilities', (x, p) => T.crossEntropy(x, p.softmax()), [inp([4, 6]), inp([4, 6])], {}, true);
add('crossEntropy [64,1023]', (x, t) => T.crossEntropy(x, t, { labelSmoothing: 0.05 }), [inp([64, 1023]), labels(64, 1023)]);
add('mseLoss', (a, b) => T.mseLoss(a, b), [inp([3, 5]), inp([3, 5])], {}, true);
add('mseLoss sum of views', (a, b) => T.mseLoss(a, b, { reduction: 'sum' }), [inp([3, 5], { view: 'T' }), inp([3, 5], { view: 'bcast' })], {}, true);

// ---- a composite graph --------------------------------------------------------------------------

add(
  'mlp block',
  (x, w1, b1, w2, g, bt) => {
    const h = T.layerNorm(T.linear(x, w1, b1).gelu(), g, bt);
    return T.linear(h, w2).tanh().mean(0);
  },
  [inp([5, 4]), inp([6, 4]), inp([6]), inp([3, 6]), inp([6]), inp([6])],
  {},
  true,
);

export const CASES = cases;
