/** Interop with scijs ndarray: fromNdarray copies an ndarray (any strides) into a tensor; toNdarray reads one back. */
import ndarray, { type NdArray } from 'ndarray';
import type { Tensor } from './autograd/tensor.js';
import { tensor, type CreateOptions } from './autograd/ops/creation.js';
import { ShapeError } from './gpu/errors.js';

export function fromNdarray(nd: NdArray, opts: CreateOptions = {}): Tensor {
  const shape = nd.shape.slice();
  const n = shape.reduce((p, d) => p * d, 1);
  const isInt = nd.dtype === 'int32' || nd.dtype === 'int16' || nd.dtype === 'int8' || nd.dtype === 'uint8' || nd.dtype === 'uint16';
  if ((nd.dtype as string) === 'buffer' || (nd.dtype as string) === 'bigint64' || (nd.dtype as string) === 'biguint64') {
    throw new ShapeError(`fromNdarray: unsupported ndarray dtype '${nd.dtype}'`);
  }
  const out = isInt ? new Int32Array(n) : opts.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    out[i] = nd.get(...idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return tensor(out, shape, { ...opts, dtype: opts.dtype ?? (isInt ? 'int32' : 'float32') });
}

export async function toNdarray(t: Tensor): Promise<NdArray> {
  const data = await t.data();
  return ndarray(data as Float32Array, [...t.shape]);
}
