/**
 * Every elementwise op's math, declared once: its WGSL expression, its CPU reference and the
 * expressions of its partial derivatives. The WebGPU backend splices `wgsl` into the map kernel
 * (wgsl/elementwise.wgsl), the CPU backend calls `cpu`, and autograd builds the backward from the
 * `grad` entries, each itself a fused map op (one kernel per input gradient).
 *
 * Inputs are named a, b, c, d in WGSL (all f32) and passed positionally to `cpu`; p0 and p1 are
 * scalar parameters. In a gradient op the inputs are (inputs..., output y, upstream g).
 */
export interface MapOp {
  name: string;
  arity: number;
  wgsl: string;
  cpu: (a: number, b: number, c: number, d: number, p0: number, p1: number, i: number) => number;
}

/** An op's gradient for one input: a map op over (inputs..., y, g), or 'g' to pass g through. */
export type GradRule = MapOp | 'g';

export interface UnaryDef {
  op: MapOp;
  grad: GradRule | null;
}
export interface BinaryDef {
  op: MapOp;
  grads: [GradRule | null, GradRule | null];
}

function m(name: string, arity: number, wgsl: string, cpu: MapOp['cpu']): MapOp {
  return { name, arity, wgsl, cpu };
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_TANH_K = Math.sqrt(2 / Math.PI);

/** erf in float64 (Abramowitz–Stegun 7.1.26 refined with a continued-fraction tail is overkill here: W. J. Cody's rational form). */
export function erf(x: number): number {
  // High-precision series/continued fraction: |error| < 1e-14, adequate for a float64 oracle.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Maclaurin series
    let sum = x;
    let term = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz) for large |x|
  let f = ax;
  let C = ax;
  let D = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    D = ax + an * D;
    D = 1 / D;
    C = ax + an / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return x > 0 ? 1 - erfc : erfc - 1;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const geluTanhInner = (x: number) => GELU_TANH_K * (x + 0.044715 * x * x * x);

export const UNARY: Record<string, UnaryDef> = {
  neg: { op: m('neg', 1, '-a', (a) => -a), grad: m('neg_grad', 3, '-c', (_a, _y, g) => -g) },
  exp: { op: m('exp', 1, 'exp(a)', Math.exp), grad: m('exp_grad', 3, 'c * b', (_a, y, g) => g * y) },
  log: { op: m('log', 1, 'log(a)', Math.log), grad: m('log_grad', 3, 'c / a', (a, _y, g) => g / a) },
  sqrt: { op: m('sqrt', 1, 'sqrt(a)', Math.sqrt), grad: m('sqrt_grad', 3, '0.5 * c / b', (_a, y, g) => (0.5 * g) / y) },
  rsqrt: {
    op: m('rsqrt', 1, 'inverseSqrt(a)', (a) => 1 / Math.sqrt(a)),
    grad: m('rsqrt_grad', 3, '-0.5 * c * b * b * b', (_a, y, g) => -0.5 * g * y * y * y),
  },
  abs: { op: m('abs', 1, 'abs(a)', Math.abs), grad: m('abs_grad', 3, 'c * sign(a)', (a, _y, g) => g * Math.sign(a)) },
  relu: {
    op: m('relu', 1, 'max(a, 0.0)', (a) => Math.max(a, 0)),
    grad: m('relu_grad', 3, 'select(0.0, c, a > 0.0)', (a, _y, g) => (a > 0 ? g : 0)),
  },
  gelu: {
    op: m('gelu', 1, '0.5 * a * (1.0 + erf_(a * 0.70710678118654752))', (a) => 0.5 * a * (1 + erf(a * SQRT1_2))),
    grad: m(
      'gelu_grad',
      3,
      'c * (0.5 * (1.0 + erf_(a * 0.70710678118654752)) + a * exp(-0.5 * a * a) * 0.3989422804014327)',
      (a, _y, g) => g * (0.5 * (1 + erf(a * SQRT1_2)) + a * Math.exp(-0.5 * a * a) * INV_SQRT_2PI),
    ),
  },
  geluTanh: {
    op: m('gelu_tanh', 1, '0.5 * a * (1.0 + tanh_(0.7978845608028654 * (a + 0.044715 * a * a * a)))', (a) => 0.5 * a * (1 + Math.tanh(geluTanhInner(a)))),
    grad: m(
      'gelu_tanh_grad',
      3,
      'c * gelu_tanh_d(a)',
      (a, _y, g) => {
        const t = Math.tanh(geluTanhInner(a));
        return g * (0.5 * (1 + t) + 0.5 * a * (1 - t * t) * GELU_TANH_K * (1 + 3 * 0.044715 * a * a));
      },
    ),
  },
  sigmoid: {
    op: m('sigmoid', 1, 'sigmoid_(a)', sigmoid),
    grad: m('sigmoid_grad', 3, 'c * b * (1.0 - b)', (_a, y, g) => g * y * (1 - y)),
  },
  tanh: { op: m('tanh', 1, 'tanh_(a)', Math.tanh), grad: m('tanh_grad', 3, 'c * (1.0 - b * b)', (_a, y, g) => g * (1 - y * y)) },
  // Scalar-parameter ops: p0 (and p1) come from the uniform block, so a scalar costs no upload.
  addScalar: { op: m('add_scalar', 1, 'a + p0', (a, _b, _c, _d, p0) => a + p0), grad: 'g' },
  mulScalar: {
    op: m('mul_scalar', 1, 'a * p0', (a, _b, _c, _d, p0) => a * p0),
    grad: m('mul_scalar_grad', 3, 'c * p0', (_a, _y, g, _d, p0) => g * p0),
  },
  rsubScalar: { op: m('rsub_scalar', 1, 'p0 - a', (a, _b, _c, _d, p0) => p0 - a), grad: m('neg_grad', 3, '-c', (_a, _y, g) => -g) },
  rdivScalar: {
    op: m('rdiv_scalar', 1, 'p0 / a', (a, _b, _c, _d, p0) => p0 / a),
    grad: m('rdiv_scalar_grad', 3, '-c * b / a', (a, y, g) => (-g * y) / a),
  },
  // pow_t follows PyTorch for negative bases: integer exponents keep the sign rule, others give NaN.
  powScalar: {
    op: m('pow_scalar', 1, 'pow_t(a, p0)', (a, _b, _c, _d, p0) => Math.pow(a, p0)),
    grad: m('pow_scalar_grad', 3, 'select(c * p0 * pow_t(a, p0 - 1.0), 0.0, p0 == 0.0)', (a, _y, g, _d, p0) =>
      p0 === 0 ? 0 : g * p0 * Math.pow(a, p0 - 1),
    ),
  },
  clamp: {
    op: m('clamp', 1, 'clamp(a, p0, p1)', (a, _b, _c, _d, p0, p1) => Math.min(Math.max(a, p0), p1)),
    grad: m('clamp_grad', 3, 'select(0.0, c, a >= p0 && a <= p1)', (a, _y, g, _d, p0, p1) => (a >= p0 && a <= p1 ? g : 0)),
  },
  minScalar: {
    op: m('min_scalar', 1, 'min(a, p0)', (a, _b, _c, _d, p0) => Math.min(a, p0)),
    grad: m('min_scalar_grad', 3, 'select(0.0, c, a <= p0)', (a, _y, g, _d, p0) => (a <= p0 ? g : 0)),
  },
  maxScalar: {
    op: m('max_scalar', 1, 'max(a, p0)', (a, _b, _c, _d, p0) => Math.max(a, p0)),
    grad: m('max_scalar_grad', 3, 'select(0.0, c, a >= p0)', (a, _y, g, _d, p0) => (a >= p0 ? g : 0)),
  },
};

const pass = 'g' as const;

export const BINARY: Record<string, BinaryDef> = {
  add: { op: m('add', 2, 'a + b', (a, b) => a + b), grads: [pass, pass] },
  sub: { op: m('sub', 2, 'a - b', (a, b) => a - b), grads: [pass, m('neg_grad4', 4, '-d', (_a, _b, _y, g) => -g)] },
  mul: {
    op: m('mul', 2, 'a * b', (a, b) => a * b),
    grads: [m('mul_grad_a', 4, 'd * b', (_a, b, _y, g) => g * b), m('mul_grad_b', 4, 'd * a', (a, _b, _y, g) => g * a)],
  },
  div: {
    op: m('div', 2, 'a / b', (a, b) => a / b),
    grads: [m('div_grad_a', 4, 'd / b', (_a, b, _y, g) => g / b), m('div_grad_b', 4, '-d * c / b', (_a, b, y, g) => (-g * y) / b)],
  },
  pow: {
    op: m('pow', 2, 'pow_t(a, b)', (a, b) => Math.pow(a, b)),
    grads: [
      m('pow_grad_a', 4, 'select(d * b * pow_t(a, b - 1.0), 0.0, b == 0.0)', (a, b, _y, g) => (b === 0 ? 0 : g * b * Math.pow(a, b - 1))),
      m('pow_grad_b', 4, 'select(0.0, d * c * log(a), a > 0.0)', (a, _b, y, g) => (a > 0 ? g * y * Math.log(a) : 0)),
    ],
  },
  maximum: {
    op: m('maximum', 2, 'max(a, b)', (a, b) => Math.max(a, b)),
    grads: [
      m('maximum_grad_a', 4, 'select(select(0.0, 0.5 * d, a == b), d, a > b)', (a, b, _y, g) => (a > b ? g : a === b ? 0.5 * g : 0)),
      m('maximum_grad_b', 4, 'select(select(0.0, 0.5 * d, a == b), d, b > a)', (a, b, _y, g) => (b > a ? g : a === b ? 0.5 * g : 0)),
    ],
  },
  minimum: {
    op: m('minimum', 2, 'min(a, b)', (a, b) => Math.min(a, b)),
    grads: [
      m('minimum_grad_a', 4, 'select(select(0.0, 0.5 * d, a == b), d, a < b)', (a, b, _y, g) => (a < b ? g : a === b ? 0.5 * g : 0)),
      m('minimum_grad_b', 4, 'select(select(0.0, 0.5 * d, a == b), d, b < a)', (a, b, _y, g) => (b < a ? g : a === b ? 0.5 * g : 0)),
    ],
  },
  // Comparisons give 0/1 floats and no gradient.
  eq: { op: m('eq', 2, 'select(0.0, 1.0, a == b)', (a, b) => +(a === b)), grads: [null, null] },
  ne: { op: m('ne', 2, 'select(0.0, 1.0, a != b)', (a, b) => +(a !== b)), grads: [null, null] },
  lt: { op: m('lt', 2, 'select(0.0, 1.0, a < b)', (a, b) => +(a < b)), grads: [null, null] },
  le: { op: m('le', 2, 'select(0.0, 1.0, a <= b)', (a, b) => +(a <= b)), grads: [null, null] },
  gt: { op: m('gt', 2, 'select(0.0, 1.0, a > b)', (a, b) => +(a > b)), grads: [null, null] },
  ge: { op: m('ge', 2, 'select(0.0, 1.0, a >= b)', (a, b) => +(a >= b)), grads: [null, null] },
};

/** where(cond, a, b): a where cond is nonzero. Its gradients route g to the chosen side. */
export const WHERE = m('where', 3, 'select(c, b, a != 0.0)', (cond, a, b) => (cond !== 0 ? a : b));
export const WHERE_GRAD_A = m('where_grad_a', 2, 'select(0.0, b, a != 0.0)', (cond, g) => (cond !== 0 ? g : 0));
export const WHERE_GRAD_B = m('where_grad_b', 2, 'select(b, 0.0, a != 0.0)', (cond, g) => (cond !== 0 ? 0 : g));

/** Plain copy (contiguous() and dtype casts: the output dtype decides the conversion). */
export const COPY = m('copy', 1, 'a', (a) => a);
/** Dropout/bernoulli scaling: keep where mask b is 1, scaled by p0 = 1/(1-p). */
export const MASK_SCALE = m('mask_scale', 2, 'a * b * p0', (a, b, _c, _d, p0) => a * b * p0);
/** A constant (zeros, ones, full) written by a kernel: no upload, so no batch flush. */
export const FILL = m('fill', 0, 'p0', (_a, _b, _c, _d, p0) => p0);
/** The element's own (linear) index: arange without an upload. */
export const IOTA = m('iota', 0, 'f32(i) * p1 + p0', (_a, _b, _c, _d, p0, p1, i) => p0 + p1 * i);

// ---- the user-facing elementwise ops -------------------------------------------------------------

/**
 * How an elementwise op is called. Every row here becomes a function export, a Tensor method and
 * (for 'unary' and 'binary') a fuse() Expr method, generated by scripts/gen-ops.mjs into
 * src/autograd/ops/generated.ts (run `npm run gen:ops` after adding a row).
 *
 *   unary     f(x) / x.f()                      `op`: the UNARY row
 *   binary    f(a, b) / a.f(b), either a number  `op`: the BINARY row (tensor with tensor);
 *             `right(s)` / `left(s)`: the UNARY row and its p0, p1 for tensor ∘ s and s ∘ tensor
 *             (absent: the number becomes a scalar tensor); `float`: int32 operands are refused
 *   compare   f(a, b) / a.f(b) -> 0/1 float, no gradient; `op`: the BINARY row
 */
export type SurfaceOp =
  | { kind: 'unary'; op: keyof typeof UNARY; doc: string }
  | {
      kind: 'binary';
      op: keyof typeof BINARY;
      doc: string;
      right?: (s: number) => [keyof typeof UNARY, number[]];
      left?: (s: number) => [keyof typeof UNARY, number[]];
      float?: boolean;
    }
  | { kind: 'compare'; op: keyof typeof BINARY; doc: string };

/** pow_t's exponent mode for a scalar exponent: odd integer 1, even integer 0, other 2. */
const powMode = (s: number) => (Number.isInteger(s) ? (Math.abs(s) % 2 === 1 ? 1 : 0) : 2);

export const SURFACE = {
  add: { kind: 'binary', op: 'add', doc: 'a + b', right: (s) => ['addScalar', [s]], left: (s) => ['addScalar', [s]] },
  sub: { kind: 'binary', op: 'sub', doc: 'a − b', right: (s) => ['addScalar', [-s]], left: (s) => ['rsubScalar', [s]] },
  mul: { kind: 'binary', op: 'mul', doc: 'a · b', right: (s) => ['mulScalar', [s]], left: (s) => ['mulScalar', [s]] },
  // True division: int32 operands must be converted by the caller (.toFloat()).
  div: { kind: 'binary', op: 'div', doc: 'a / b (true division; floats only)', right: (s) => ['mulScalar', [1 / s]], left: (s) => ['rdivScalar', [s]], float: true },
  pow: { kind: 'binary', op: 'pow', doc: 'a ^ b (PyTorch’s sign rule for negative bases)', right: (s) => ['powScalar', [s, powMode(s)]] },
  maximum: { kind: 'binary', op: 'maximum', doc: 'max(a, b); ties split the gradient', right: (s) => ['maxScalar', [s]], left: (s) => ['maxScalar', [s]] },
  minimum: { kind: 'binary', op: 'minimum', doc: 'min(a, b); ties split the gradient', right: (s) => ['minScalar', [s]], left: (s) => ['minScalar', [s]] },
  eq: { kind: 'compare', op: 'eq', doc: 'a == b as 0/1' },
  ne: { kind: 'compare', op: 'ne', doc: 'a != b as 0/1' },
  lt: { kind: 'compare', op: 'lt', doc: 'a < b as 0/1' },
  le: { kind: 'compare', op: 'le', doc: 'a <= b as 0/1' },
  gt: { kind: 'compare', op: 'gt', doc: 'a > b as 0/1' },
  ge: { kind: 'compare', op: 'ge', doc: 'a >= b as 0/1' },
  neg: { kind: 'unary', op: 'neg', doc: '−x' },
  exp: { kind: 'unary', op: 'exp', doc: 'eˣ' },
  log: { kind: 'unary', op: 'log', doc: 'natural logarithm' },
  sqrt: { kind: 'unary', op: 'sqrt', doc: '√x' },
  rsqrt: { kind: 'unary', op: 'rsqrt', doc: '1/√x' },
  abs: { kind: 'unary', op: 'abs', doc: '|x|' },
  relu: { kind: 'unary', op: 'relu', doc: 'max(x, 0)' },
  sigmoid: { kind: 'unary', op: 'sigmoid', doc: '1 / (1 + e⁻ˣ)' },
  tanh: { kind: 'unary', op: 'tanh', doc: 'hyperbolic tangent' },
} satisfies Record<string, SurfaceOp>;

export type SurfaceName = keyof typeof SURFACE;
