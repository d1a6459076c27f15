/** GPU Philox random numbers (wgsl/random.wgsl); the same stream as src/backend/philox.ts. */
import template from '../../../wgsl/random.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import type { DType, RandomKind } from '../backend.js';
import { Params, wgsl, wgslType } from './source.js';

const KIND: Record<RandomKind, number> = { uniform: 0, normal: 1, bernoulli: 2 };

function kernel(kind: RandomKind, dtype: DType): Kernel {
  return {
    name: `random_${kind}`,
    key: `random:${kind}:${dtype}`,
    bindings: ['uniform', 'rw'],
    code: () => wgsl(template, { KIND: KIND[kind], T: wgslType(dtype) }),
  };
}

export function runRandom(rt: GpuRuntime, kind: RandomKind, n: number, seed: number, counter: number, p0: number, p1: number, dtype: DType): GPUBuffer {
  const out = rt.alloc(n * 4, `${kind} random`);
  if (n === 0) return out;
  const p = new Params()
    .u32(n, counter >>> 0, Math.floor(counter / 4294967296) >>> 0, seed >>> 0, Math.floor(seed / 4294967296) >>> 0)
    .f32(p0, p1)
    .build();
  rt.dispatch(kernel(kind, dtype), p, [out], grid1D(n, 256), `n=${n}`);
  return out;
}
