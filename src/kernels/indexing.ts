/** GPU gather, index-add (gather's adjoint) and concatenation (wgsl/indexing.wgsl). */
import template from '../../wgsl/indexing.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../gpu/runtime.js';
import { sizeOf, type DType, type View } from '../backend/backend.js';
import { Params, wgsl, wgslType } from './source.js';
import { shapeStr } from '../gpu/errors.js';

function kernel(entry: 'gather' | 'index_add' | 'place', dtype: DType): Kernel {
  return {
    name: entry,
    key: `indexing:${entry}:${dtype}`,
    bindings: entry === 'place' ? ['uniform', 'read', 'rw'] : ['uniform', 'read', 'read', 'rw'],
    entryPoint: entry,
    code: () => wgsl(template, { T: wgslType(dtype) }),
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
  const out = rt.alloc(total * 4, 'indexAdd output');
  if (total === 0) return out;
  const p = new Params().u32(total, outer, shape[axis], inner, sizeOf(index.shape), 0, 0, 0).build();
  rt.dispatch(kernel('index_add', src.dtype), p, [src.storage.handle as GPUBuffer, index.storage.handle as GPUBuffer, out], grid1D(total, 256), `${shapeStr(shape)} axis ${axis}`);
  return out;
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
