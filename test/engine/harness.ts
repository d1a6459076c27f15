/**
 * Test harness for the engine: device-vs-reference parity and finite-difference gradient checks.
 *
 * parity(): builds the same random inputs on the GPU (float32) and on the CPU reference
 * (float64, from the same float32-rounded values), runs the op on both, backpropagates a
 * random-weighted sum of every output, and compares the outputs and every input gradient.
 *
 * gradcheck(): on the CPU reference in float64, compares the analytic gradient of a
 * random-weighted sum of fn's outputs with central differences.
 */
import { expect } from 'vitest';
import { Tensor, tensor, noGrad, tidy, sum, mul, permute, slice, expand, gpuRuntime, type DType } from '../../src/index.js';

// ---- deterministic data -------------------------------------------------------------------

export { mulberry32 as prng } from '../prng.js';
import { mulberry32 as prng } from '../prng.js';

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * How an input is made:
 *  - kind: 'normal' (default) ~N(0,1); 'positive' in [0.5, 2]; 'unit' in (-0.9, 0.9);
 *    'away' ~N(0,1) but at least 0.05 from 0 (kinks at 0); 'int' integers in [0, max);
 *    'values' explicit numbers.
 *  - view: how the tensor handed to the op is laid out: 'dense' (default); 'T' a permuted view
 *    of a tensor stored reversed; 'slice' a slice out of a larger tensor (nonzero offset);
 *    'bcast' an expanded size-1 dim (stride 0) for the first dim.
 */
export interface InputSpec {
  shape: number[];
  kind?: 'normal' | 'positive' | 'unit' | 'away' | 'int' | 'values';
  max?: number;
  values?: number[];
  grad?: boolean;
  view?: 'dense' | 'T' | 'slice' | 'bcast';
  scale?: number;
}

export const inp = (shape: number[], extra: Omit<InputSpec, 'shape'> = {}): InputSpec => ({ shape, ...extra });

function gauss(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

function makeValues(spec: InputSpec, n: number, r: () => number): number[] {
  const s = spec.scale ?? 1;
  switch (spec.kind ?? 'normal') {
    case 'values':
      return spec.values!.slice(0, n);
    case 'int':
      return Array.from({ length: n }, () => Math.floor(r() * (spec.max ?? 10)));
    case 'positive':
      return Array.from({ length: n }, () => Math.fround(0.5 + 1.5 * r()));
    case 'unit':
      return Array.from({ length: n }, () => Math.fround(-0.9 + 1.8 * r()));
    case 'away':
      return Array.from({ length: n }, () => {
        const v = gauss(r) * s;
        return Math.fround(Math.abs(v) < 0.05 ? (v < 0 ? -0.05 : 0.05) - v : v);
      });
    default:
      return Array.from({ length: n }, () => Math.fround(gauss(r) * s));
  }
}

export type Backend = 'gpu' | 'cpu';

/** A leaf (the tensor that gets .grad) and the view of it the op sees. */
export interface Built {
  leaf: Tensor;
  view: Tensor;
}

/** Storage shape of the leaf behind each view kind. */
function storageShape(spec: InputSpec): number[] {
  const s = spec.shape;
  switch (spec.view ?? 'dense') {
    case 'T':
      return [...s].reverse();
    case 'slice':
      return s.length ? [s[0] + 3, ...s.slice(1)] : [];
    case 'bcast':
      return s.length ? [1, ...s.slice(1)] : [];
    default:
      return [...s];
  }
}

export function buildInput(spec: InputSpec, backend: Backend, values: number[]): Built {
  const shape = storageShape(spec);
  const isInt = spec.kind === 'int';
  const dtype: DType = isInt ? 'int32' : backend === 'cpu' ? 'float64' : 'float32';
  const data = isInt ? Int32Array.from(values) : backend === 'cpu' ? Float64Array.from(values) : Float32Array.from(values);
  const leaf = tensor(data, shape, { backend: backend === 'cpu' ? 'cpu' : 'default', dtype, requiresGrad: !isInt && (spec.grad ?? true) });
  let view = leaf;
  const r = spec.shape.length;
  switch (spec.view ?? 'dense') {
    case 'T':
      view = permute(leaf, Array.from({ length: r }, (_, i) => r - 1 - i));
      break;
    case 'slice':
      view = r ? slice(leaf, 0, 2, 2 + spec.shape[0]) : leaf;
      break;
    case 'bcast':
      view = r ? expand(leaf, spec.shape) : leaf;
      break;
  }
  return { leaf, view };
}

export function makeInputs(specs: InputSpec[], backend: Backend, seed: number): Built[] {
  const r = prng(seed);
  return specs.map((spec) => buildInput(spec, backend, makeValues(spec, size(storageShape(spec)), r)));
}

// ---- comparison ---------------------------------------------------------------------------

export interface Tol {
  rtol?: number;
  atol?: number;
}

/** |a - b| <= atol + rtol * |b| elementwise (NaN matches NaN, inf matches the same inf). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol: Tol = {}): void {
  const rtol = tol.rtol ?? 1e-4;
  const atol = tol.atol ?? 1e-5;
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!Number.isFinite(e) && a === e) continue;
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    expect.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol}; ${expected.length} elements)`);
  }
}

// ---- parity -------------------------------------------------------------------------------

export type OpFn = (...xs: Tensor[]) => Tensor | Tensor[];

export interface ParityOptions extends Tol {
  seed?: number;
  /** Skip the backward (ops without gradients, int outputs). */
  noGrad?: boolean;
  /** Compare forward outputs only (e.g. argmax, comparisons) with exact equality. */
  exact?: boolean;
  /** Called before each backend runs the op (e.g. manualSeed for random ops). */
  before?: () => void;
}

interface RunResult {
  outs: { shape: number[]; dtype: DType; data: ArrayLike<number> }[];
  grads: (ArrayLike<number> | null)[];
}

async function runOn(backend: Backend, fn: OpFn, specs: InputSpec[], opts: ParityOptions): Promise<RunResult> {
  const seed = opts.seed ?? 1234;
  const inUse0 = gpuRuntime()?.poolStats().inUse ?? 0;
  const built = makeInputs(specs, backend, seed);
  opts.before?.();
  // tidy: the op's intermediates die at once; its graph must still backpropagate.
  const res = tidy(() => fn(...built.map((b) => b.view)));
  const outs = Array.isArray(res) ? res : [res];
  const result: RunResult = { outs: [], grads: [] };
  for (const o of outs) result.outs.push({ shape: [...o.shape], dtype: o.dtype, data: Array.from(await o.data()) });
  const differentiable = outs.filter((o) => o.requiresGrad && o.dtype !== 'int32');
  if (!opts.noGrad && differentiable.length > 0) {
    // loss = Σ_k Σ (out_k * w_k) with fixed random weights w_k, identical on both backends.
    const wr = prng(seed + 99);
    const loss = tidy(() => differentiable
      .map((o) => {
        const w = tensor(
          backend === 'cpu' ? Float64Array.from({ length: o.size }, () => Math.fround(gauss(wr))) : Float32Array.from({ length: o.size }, () => gauss(wr)),
          o.shape,
          { backend: backend === 'cpu' ? 'cpu' : 'default' },
        );
        const s = sum(mul(o, w));
        w.dispose();
        return s;
      })
      .reduce((a, b) => a.add(b)));
    loss.backward();
    loss.dispose();
  }
  for (const b of built) result.grads.push(b.leaf.grad ? Array.from(await b.leaf.grad.data()) : null);
  for (const o of outs) o.dispose();
  for (const b of built) {
    if (b.view !== b.leaf) b.view.dispose();
    b.leaf.dispose();
  }
  // Everything the op, its backward and this harness made is disposed: no buffer may stay in use.
  if (backend === 'gpu') expect(gpuRuntime()!.poolStats().inUse, 'GPU buffers still in use after disposing everything (a leak)').toBe(inUse0);
  return result;
}

/**
 * Runs fn on the GPU and on the float64 CPU reference with the same inputs and checks outputs
 * (shape, dtype class, values) and every input gradient.
 */
export async function parity(name: string, fn: OpFn, specs: InputSpec[], opts: ParityOptions = {}): Promise<void> {
  const gpu = await runOn('gpu', fn, specs, opts);
  const cpu = await runOn('cpu', fn, specs, opts);
  expect(gpu.outs.length, `${name}: number of outputs`).toBe(cpu.outs.length);
  gpu.outs.forEach((g, k) => {
    const c = cpu.outs[k];
    expect(g.shape, `${name}: output ${k} shape`).toEqual(c.shape);
    expect(g.dtype === 'int32', `${name}: output ${k} dtype ${g.dtype} vs ${c.dtype}`).toBe(c.dtype === 'int32');
    if (opts.exact || g.dtype === 'int32') expect(Array.from(g.data), `${name}: output ${k}`).toEqual(Array.from(c.data));
    else expectClose(g.data, c.data, `${name}: output ${k}`, opts);
  });
  if (opts.noGrad) return;
  specs.forEach((s, i) => {
    const wantGrad = s.kind !== 'int' && (s.grad ?? true);
    const g = gpu.grads[i];
    const c = cpu.grads[i];
    if (!wantGrad) return;
    expect(g === null, `${name}: input ${i} gradient present on GPU vs CPU`).toBe(c === null);
    if (g && c) expectClose(g, c, `${name}: gradient of input ${i}`, { rtol: opts.rtol ?? 1e-4, atol: opts.atol ?? 1e-4 });
  });
}

// ---- finite differences --------------------------------------------------------------------

export interface GradcheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
}

/**
 * Central-difference check of every float input's gradient, in float64 on the CPU reference.
 * `inputs` are made from specs (dense leaves; views as the specs say). The objective is
 * Σ_k Σ out_k · w_k with fixed random w_k.
 */
export async function gradcheck(name: string, fn: OpFn, specs: InputSpec[], opts: GradcheckOptions = {}): Promise<void> {
  const eps = opts.eps ?? 1e-6;
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 1e-7;
  const built = makeInputs(specs, 'cpu', opts.seed ?? 4321);
  const weights: number[][] = [];
  const objective = (): Tensor => {
    const res = fn(...built.map((b) => b.view));
    const outs = (Array.isArray(res) ? res : [res]).filter((o) => o.dtype !== 'int32');
    const wr = prng((opts.seed ?? 4321) + 7);
    let total: Tensor | null = null;
    outs.forEach((o, k) => {
      weights[k] ??= Array.from({ length: o.size }, () => gauss(wr));
      const w = tensor(Float64Array.from(weights[k]), o.shape, { backend: 'cpu', dtype: 'float64' });
      const s = sum(mul(o, w));
      total = total ? total.add(s) : s;
    });
    return total!;
  };
  const loss = objective();
  loss.backward();
  for (let i = 0; i < built.length; i++) {
    const { leaf } = built[i];
    if (!leaf.requiresGrad) continue;
    expect(leaf.grad, `${name}: input ${i} has no gradient`).not.toBeNull();
    const analytic = Array.from(await leaf.grad!.data());
    const store = leaf.storage.handle as Float64Array;
    const numeric: number[] = [];
    for (let j = 0; j < leaf.size; j++) {
      const orig = store[j];
      store[j] = orig + eps;
      const lp = (await noGrad(objective).data())[0];
      store[j] = orig - eps;
      const lm = (await noGrad(objective).data())[0];
      store[j] = orig;
      numeric.push((lp - lm) / (2 * eps));
    }
    expectClose(analytic, numeric, `${name}: d/d input ${i} (analytic vs central difference)`, { rtol, atol });
  }
}
