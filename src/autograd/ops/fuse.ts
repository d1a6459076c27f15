/**
 * Elementwise fusion: `fuse((x, a, b) => x.mul(a).add(b).gelu())` returns a function of tensors
 * that runs the whole chain as ONE map kernel (one read of each input, one write), with a backward
 * of one kernel per input gradient that recomputes the chain in registers instead of keeping its
 * intermediates. The chain is traced once per call with symbolic `Expr` values; each step's WGSL
 * expression, CPU function and derivative rules come from the op table (src/backend/op-table.ts),
 * so fusion adds no math of its own. Inputs broadcast like any elementwise op; up to 3 of them.
 */
import { BINARY, SURFACE, UNARY, type GradRule, type MapOp, type SurfaceOp } from '../../backend/op-table.js';
import type { SurfaceExprMethods } from './generated.js';
import { ShapeError } from '../../gpu/errors.js';
import { record } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { mapRaw } from './elementwise.js';
import { sumTo } from './reduce.js';
import { requireFloat } from './util.js';

/** The map kernel names its inputs a..d; the backward needs one more name for the upstream gradient. */
const NAMES = ['a', 'b', 'c', 'd'];
export const MAX_FUSED_INPUTS = 3;
/** Past this, inlining has made the expression too large to be worth one kernel. */
const MAX_EXPRESSION_CHARS = 20_000;

type Step = { op: MapOp; grads: (GradRule | null)[]; args: Expr[]; params: number[] };

/** A value inside a fused chain: an input, or an op-table op applied to earlier values. */
export class Expr {
  /** @internal */
  constructor(
    readonly input: number | null,
    readonly step: Step | null,
  ) {}

  /** @internal a step of a UNARY row */
  unaryStep(name: keyof typeof UNARY, params: number[] = []): Expr {
    const def = UNARY[name];
    return new Expr(null, { op: def.op, grads: [def.grad], args: [this], params });
  }
  /** @internal a step of a BINARY row */
  binaryStep(name: keyof typeof BINARY, other: Expr): Expr {
    const def = BINARY[name];
    return new Expr(null, { op: def.op, grads: def.grads, args: [this, other], params: [] });
  }
  // add, sub, mul, div, pow, maximum, minimum, neg, exp, … tanh: installed below from the op table.
  /** s - this */
  rsub(s: number): Expr { return this.unaryStep('rsubScalar', [s]); }
  /** s / this */
  rdiv(s: number): Expr { return this.unaryStep('rdivScalar', [s]); }
  clamp(min = -Infinity, max = Infinity): Expr {
    if (min > max) throw new ShapeError(`fuse: clamp min ${min} > max ${max}`);
    return this.unaryStep('clamp', [Math.max(min, -3.4e38), Math.min(max, 3.4e38)]);
  }
  gelu(opts: { approximate?: 'none' | 'tanh' } = {}): Expr { return this.unaryStep(opts.approximate === 'tanh' ? 'geluTanh' : 'gelu'); }
}

/** The unary and binary SURFACE rows as Expr methods (typed by ./generated.ts); a number operand takes the row's `right` form. */
export interface Expr extends SurfaceExprMethods<Expr> {}
for (const [name, row] of Object.entries(SURFACE) as [string, SurfaceOp][]) {
  if (row.kind === 'compare') continue;
  const value =
    row.kind === 'unary'
      ? function (this: Expr): Expr {
          return this.unaryStep(row.op);
        }
      : function (this: Expr, other: Expr | number): Expr {
          if (typeof other !== 'number') return this.binaryStep(row.op, other);
          if (!row.right) throw new ShapeError(`fuse: ${name} takes an Expr operand, not the number ${other}`);
          const [op, params] = row.right(other);
          return this.unaryStep(op, params);
        };
  Object.defineProperty(Expr.prototype, name, { value, writable: true, configurable: true });
}

/** The op steps reachable from `root`, inputs before the steps that use them. */
function topoOrder(root: Expr): Expr[] {
  const order: Expr[] = [];
  const seen = new Set<Expr>();
  const visit = (e: Expr) => {
    if (seen.has(e)) return;
    seen.add(e);
    for (const a of e.step?.args ?? []) visit(a);
    if (e.step) order.push(e);
  };
  visit(root);
  return order;
}

/** A WGSL f32 literal for a scalar parameter (the same f32 rounding as the uniform it replaces). */
function literal(v: number): string {
  return `f32(${Number.isInteger(v) ? `${v}.0` : v.toExponential(9)})`;
}

/** Replaces the names of an op-table expression in one pass (substituted text is not rescanned). */
function substitute(text: string, names: Record<string, string>): string {
  return text.replace(/\b(a|b|c|d|p0|p1)\b/g, (n) => names[n] ?? n);
}

/** WGSL expressions of every value in the chain, each step's inputs inlined (parenthesized). */
function wgslOf(order: Expr[]): Map<Expr, string> {
  const text = new Map<Expr, string>();
  const of = (e: Expr) => (e.input !== null ? NAMES[e.input] : `(${text.get(e)!})`);
  for (const e of order) {
    const s = e.step!;
    const names: Record<string, string> = { p0: literal(s.params[0] ?? 0), p1: literal(s.params[1] ?? 0) };
    s.args.forEach((arg, k) => (names[NAMES[k]] = of(arg)));
    text.set(e, substitute(s.op.wgsl, names));
  }
  return text;
}

/** Values of every step for one element, on the CPU (float64). */
function evaluate(order: Expr[], xs: number[]): Map<Expr, number> {
  const v = new Map<Expr, number>();
  const of = (e: Expr) => (e.input !== null ? xs[e.input] : v.get(e)!);
  for (const e of order) {
    const s = e.step!;
    const [a = 0, b = 0] = s.args.map(of);
    v.set(e, s.op.cpu(a, b, 0, 0, s.params[0] ?? 0, s.params[1] ?? 0, 0));
  }
  return v;
}

/**
 * Reverse mode over the chain with each step's gradient rule: for every input, its derivative
 * terms, built by `term(rule, step, args, y, g)` (WGSL text or numbers).
 */
function adjoints<T>(order: Expr[], n: number, seed: T, add: (x: T, y: T) => T, term: (rule: MapOp, s: Step, k: number, node: Expr, g: T) => T): (T | null)[] {
  const adj = new Map<Expr, T>([[order[order.length - 1], seed]]);
  const inputs: (T | null)[] = Array.from({ length: n }, () => null);
  const accumulate = (e: Expr, t: T) => {
    if (e.input !== null) inputs[e.input] = inputs[e.input] === null ? t : add(inputs[e.input]!, t);
    else adj.set(e, adj.has(e) ? add(adj.get(e)!, t) : t);
  };
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    const g = adj.get(node);
    if (g === undefined) continue;
    node.step!.args.forEach((arg, k) => {
      const rule = node.step!.grads[k];
      if (rule) accumulate(arg, rule === 'g' ? g : term(rule, node.step!, k, node, g));
    });
  }
  return inputs;
}

interface Compiled {
  forward: MapOp;
  /** Per input: the map op of its gradient over (inputs..., upstream g), or null (no path). */
  grads: (MapOp | null)[];
}

function compile(fn: (...xs: Expr[]) => Expr, n: number): Compiled {
  const inputs = Array.from({ length: n }, (_, k) => new Expr(k, null));
  const root = fn(...inputs);
  if (!(root instanceof Expr)) throw new ShapeError('fuse: the function must return the Expr its arguments produce (use their methods: x.mul(a).add(b).gelu())');
  if (root.input !== null) throw new ShapeError('fuse: the function returns one of its inputs unchanged; there is nothing to fuse');
  const order = topoOrder(root);
  const text = wgslOf(order);
  const name = `fused(${text.get(root)!.replace(/\s+/g, '')})`;
  const forward: MapOp = { name, arity: n, wgsl: text.get(root)!, cpu: (a, b, c, _d) => evaluate(order, [a, b, c]).get(root)! };
  const of = (e: Expr) => (e.input !== null ? NAMES[e.input] : `(${text.get(e)!})`);
  // WGSL: the upstream gradient is the input after the chain's own (named NAMES[n]).
  const gradText = adjoints<string>(order, n, NAMES[n], (x, y) => `${x} + ${y}`, (rule, s, _k, node, g) => {
    const names: Record<string, string> = { p0: literal(s.params[0] ?? 0), p1: literal(s.params[1] ?? 0) };
    // A rule's operands: the step's inputs, its output, then the upstream gradient.
    [...s.args.map(of), of(node), `(${g})`].forEach((t, k) => (names[NAMES[k]] = t));
    return substitute(rule.wgsl, names);
  });
  const longest = Math.max(forward.wgsl.length, ...gradText.map((t) => t?.length ?? 0));
  if (longest > MAX_EXPRESSION_CHARS) {
    throw new ShapeError(`fuse: the fused chain expands to ${longest} characters of WGSL (limit ${MAX_EXPRESSION_CHARS}); split it into shorter fused functions`);
  }
  const grads = gradText.map((t, k): MapOp | null => {
    if (t === null) return null;
    const cpu = (...v: number[]) => {
      const xs = v.slice(0, n);
      const vals = evaluate(order, xs);
      const val = (e: Expr) => (e.input !== null ? xs[e.input] : vals.get(e)!);
      const g = adjoints<number>(order, n, v[n], (x, y) => x + y, (rule, s, _j, node, gy) => {
        const ops = [...s.args.map(val), vals.get(node)!, gy];
        return rule.cpu(ops[0] ?? 0, ops[1] ?? 0, ops[2] ?? 0, ops[3] ?? 0, s.params[0] ?? 0, s.params[1] ?? 0, 0);
      });
      return g[k] ?? 0;
    };
    return { name: `${name}_grad${k}`, arity: n + 1, wgsl: t, cpu };
  });
  return { forward, grads };
}

/**
 * Fuses an elementwise chain into one kernel (and one kernel per input gradient). `fn` receives
 * one `Expr` per tensor argument and returns the chain's result built with Expr methods (add, sub,
 * mul, div, pow, maximum, minimum, clamp, neg, exp, log, sqrt, rsqrt, abs, relu, sigmoid, tanh,
 * gelu; numbers as scalar operands). Float tensors only, up to 3, broadcast together.
 *
 *   const biasGelu = fuse((x, a, b) => x.mul(a).add(b).gelu());
 *   const y = biasGelu(x, scale, bias); // same values and gradients as x.mul(scale).add(bias).gelu()
 */
export function fuse(fn: (...xs: Expr[]) => Expr): (...xs: Tensor[]) => Tensor {
  const cache = new Map<number, Compiled>();
  return (...xs: Tensor[]) => {
    if (xs.length < 1 || xs.length > MAX_FUSED_INPUTS) throw new ShapeError(`fuse: ${xs.length} tensor arguments; a fused chain takes 1 to ${MAX_FUSED_INPUTS}`);
    requireFloat('fuse', ...xs);
    let c = cache.get(xs.length);
    if (!c) cache.set(xs.length, (c = compile(fn, xs.length)));
    const { forward, grads } = c;
    const y = mapRaw(forward, xs, [], xs.some((t) => t.dtype === 'float64') ? 'float64' : 'float32');
    return record(
      'fused',
      y,
      xs,
      (g, saved) => xs.map((x, k) => (x.requiresGrad && grads[k] ? sumTo(mapRaw(grads[k]!, [...saved, g], [], g.dtype, g.shape), x.shape) : null)),
      xs,
    );
  };
}
