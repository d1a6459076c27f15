/** GPU gather, index-add (gather's adjoint) and concatenation (wgsl/indexing.wgsl). */
import template from '../../../wgsl/indexing.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import { sizeOf, type DType, type View } from '../backend.js';
import { Params, wgsl, wgslType } from './source.js';
import { shapeStr } from '../../gpu/errors.js';

/** Atomic accumulation: i32 has atomicAdd; f32 a compare-exchange loop on its bits. */
const ADD_AT: Record<string, string> = {
  i32: '  atomicAdd(&Acc[a], v);',
  f32: `  var old = atomicLoad(&Acc[a]);
  loop {
    let r = atomicCompareExchangeWeak(&Acc[a], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`,
};

function kernel(entry: 'gather' | 'index_add' | 'clear' | 'place' | 'check_range', dtype: DType): Kernel {
  const T = wgslType(dtype);
  return {
    name: entry,
    key: `indexing:${entry}:${dtype}`,
    bindings: entry === 'place' ? ['uniform', 'read', 'rw'] : ['uniform', 'read', 'read', 'rw'],
    entryPoint: entry,
    code: () => wgsl(template, { T, AT: T === 'f32' ? 'u32' : 'i32', ADD_AT: ADD_AT[T] }),
  };
}

/** x and index contiguous, offset 0. */
export function runGather(rt: GpuRuntime, x: View, axis: number, index: View): GPUBuffer {
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const m = sizeOf(index.shape);
  const total = outer * m * inner;
  const out = rt.alloc(total * 4, 'gather output');
  if (total === 0) return out;
  const p = new Params().u32(total, outer, x.shape[axis], inner, m, 0, 0, 0).build();
  rt.dispatch(kernel('gather', x.dtype), p, [x.storage.handle as GPUBuffer, index.storage.handle as GPUBuffer, out], grid1D(total, 256), `${shapeStr(x.shape)} axis ${axis}`);
  return out;
}

export function runIndexAdd(rt: GpuRuntime, shape: readonly number[], axis: number, index: View, src: View): GPUBuffer {
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const total = sizeOf(shape);
  const m = sizeOf(index.shape);
  const out = rt.alloc(total * 4, 'indexAdd output');
  if (total === 0) return out;
  const buffers = [src.storage.handle as GPUBuffer, index.storage.handle as GPUBuffer, out];
  const what = `${shapeStr(shape)} axis ${axis}`;
  rt.dispatch(kernel('clear', src.dtype), new Params().u32(total, 0, 0, 0, 0, 0, 0, 0).build(), buffers, grid1D(total, 256), what);
  const nSrc = outer * m * inner;
  if (nSrc === 0) return out;
  const p = new Params().u32(nSrc, outer, shape[axis], inner, m, 0, 0, 0).build();
  rt.dispatch(kernel('index_add', src.dtype), p, buffers, grid1D(nSrc, 256), what);
  return out;
}

/**
 * A device-side assertion that every index lies in [0, n): the next readback throws `message`
 * if one does not (no readback here). index contiguous, offset 0.
 */
export function runCheckRange(rt: GpuRuntime, index: View, n: number, message: string): void {
  const m = sizeOf(index.shape);
  if (m === 0) return;
  const { buffer, id } = rt.assertion(message);
  const idx = index.storage.handle as GPUBuffer;
  const p = new Params().u32(m, 0, n, 0, 0, id, 0, 0).build();
  rt.dispatch(kernel('check_range', 'int32'), p, [idx, idx, buffer], grid1D(m, 256), `index ${shapeStr(index.shape)} in [0, ${n})`);
}

/** parts contiguous, offset 0. */
export function runConcat(rt: GpuRuntime, parts: View[], axis: number, shape: readonly number[]): GPUBuffer {
  const total = sizeOf(shape);
  const out = rt.alloc(total * 4, 'concat output');
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const row = shape[axis] * inner;
  let at = 0;
  for (const part of parts) {
    const w = part.shape[axis] * inner;
    const n = outer * w;
    if (n > 0) {
      const p = new Params().u32(n, outer, 0, inner, w, at, row, 0).build();
      rt.dispatch(kernel('place', part.dtype), p, [part.storage.handle as GPUBuffer, out], grid1D(n, 256), `${shapeStr(part.shape)} into ${shapeStr(shape)}`);
    }
    at += w;
  }
  return out;
}
