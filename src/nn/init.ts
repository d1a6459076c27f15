/**
 * Parameter initialization with PyTorch's defaults, drawn from the seeded Philox stream
 * (`manualSeed`), so a seed reproduces a model bit-for-bit on either backend.
 *
 * `withParamOptions({ backend: 'cpu', dtype: 'float64' }, () => new Model(...))` builds a whole
 * model on the CPU reference in float64 (gradient checks): every layer creates its tensors with
 * `paramOptions()`.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { Backend, DType } from '../backend/backend.js';
import { full, rand, randn, tensor, zeros } from '../autograd/ops/creation.js';

export interface ParamOptions {
  backend?: 'cpu' | 'default' | Backend;
  dtype?: DType;
}

let current: ParamOptions = {};

/** The backend/dtype new parameters and buffers are created with (see withParamOptions). */
export function paramOptions(): ParamOptions {
  return { ...current };
}

/** Runs fn with parameters created on `opts.backend` in `opts.dtype`. */
export function withParamOptions<T>(opts: ParamOptions, fn: () => T): T {
  const prev = current;
  current = { ...prev, ...opts };
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** fan_in, fan_out of a weight shape as PyTorch computes them ([out, in, ...kernel]). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fans: need at least 2 dims, got [${shape}]`);
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function calculateGain(nonlinearity: 'linear' | 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid' | 'gelu', a = 0.01): number {
  switch (nonlinearity) {
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + a * a));
    case 'tanh':
      return 5 / 3;
    default:
      return 1;
  }
}

/** U(low, high). */
export function uniform(shape: readonly number[], low: number, high: number): Tensor {
  const o = paramOptions();
  return rand(shape, { backend: o.backend, dtype: o.dtype, low, high });
}

/** N(mean, std). */
export function normal(shape: readonly number[], mean = 0, std = 1): Tensor {
  const o = paramOptions();
  return randn(shape, { backend: o.backend, dtype: o.dtype, mean, std });
}

/** PyTorch's kaiming_uniform_(w, a, mode='fan_in', nonlinearity='leaky_relu'): bound = gain·√(3/fan_in). */
export function kaimingUniform(shape: readonly number[], a = Math.sqrt(5), fanIn = fans(shape).fanIn): Tensor {
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniform(shape, -bound, bound);
}

/** xavier_uniform_: bound = gain·√(6/(fan_in + fan_out)). */
export function xavierUniform(shape: readonly number[], gain = 1): Tensor {
  const { fanIn, fanOut } = fans(shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -bound, bound);
}

/** xavier_normal_: std = gain·√(2/(fan_in + fan_out)). */
export function xavierNormal(shape: readonly number[], gain = 1): Tensor {
  const { fanIn, fanOut } = fans(shape);
  return normal(shape, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}

/** nn.Linear's bias init: U(−1/√fan_in, 1/√fan_in). */
export function linearBias(outFeatures: number, fanIn: number): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform([outFeatures], -bound, bound);
}

export function constant(shape: readonly number[], value: number): Tensor {
  const o = paramOptions();
  return full(shape, value, { backend: o.backend, dtype: o.dtype });
}

export function zerosParam(shape: readonly number[]): Tensor {
  const o = paramOptions();
  return zeros(shape, { backend: o.backend, dtype: o.dtype });
}

export function onesParam(shape: readonly number[]): Tensor {
  return constant(shape, 1);
}

/** A tensor of given values with the current parameter options (buffers: prototypes, adjacency). */
export function fromValues(values: ArrayLike<number>, shape: readonly number[], dtype?: DType): Tensor {
  const o = paramOptions();
  const dt = dtype ?? o.dtype ?? 'float32';
  const arr = dt === 'int32' ? Int32Array.from(values) : dt === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  return tensor(arr, shape, { backend: o.backend, dtype: dt });
}
