/** GPU LayerNorm forward/backward over the last axis (wgsl/layernorm.wgsl). */
import template from '../../wgsl/layernorm.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../gpu/runtime.js';
import { sizeOf, type View } from '../backend/backend.js';
import { Params, wgsl } from './source.js';
import { shapeStr } from '../gpu/errors.js';

const forwardKernel: Kernel = {
  name: 'layer_norm',
  key: 'layernorm:forward',
  bindings: ['uniform', 'read', 'read', 'read', 'rw', 'rw', 'rw'],
  entryPoint: 'forward',
  code: () => wgsl(template),
};
const backwardKernel: Kernel = {
  name: 'layer_norm_backward',
  key: 'layernorm:backward',
  bindings: ['uniform', 'read', 'read', 'read', 'rw', 'read', 'read', 'rw'],
  entryPoint: 'backward',
  code: () => wgsl(template),
};

/** All views contiguous with offset 0 (the caller makes them so). */
export function runLayerNorm(rt: GpuRuntime, x: View, gamma: View | null, beta: View | null, eps: number) {
  const n = x.shape[x.shape.length - 1];
  const total = sizeOf(x.shape);
  const rows = n === 0 ? 0 : total / n;
  const y = rt.alloc(total * 4, 'layerNorm output');
  const mean = rt.alloc(rows * 4, 'layerNorm mean');
  const rstd = rt.alloc(rows * 4, 'layerNorm rstd');
  if (total > 0) {
    const X = x.storage.handle as GPUBuffer;
    const p = new Params().u32(rows, n).f32(eps).u32(gamma ? 1 : 0).build();
    const gb = (gamma?.storage.handle as GPUBuffer) ?? X;
    const bb = (beta?.storage.handle as GPUBuffer) ?? X;
    rt.dispatch(forwardKernel, p, [X, gb, bb, y, mean, rstd], grid1D(rows, 1, rt.limits.maxComputeWorkgroupsPerDimension), shapeStr(x.shape));
  }
  return { y, mean, rstd };
}

export function runLayerNormGrad(rt: GpuRuntime, x: View, mean: View, rstd: View, gamma: View | null, g: View) {
  const n = x.shape[x.shape.length - 1];
  const total = sizeOf(x.shape);
  const rows = n === 0 ? 0 : total / n;
  const dx = rt.alloc(total * 4, 'layerNorm dx');
  const gxhat = rt.alloc(total * 4, 'layerNorm g·x̂');
  if (total > 0) {
    const X = x.storage.handle as GPUBuffer;
    const p = new Params().u32(rows, n).f32(0).u32(gamma ? 1 : 0).build();
    rt.dispatch(
      backwardKernel,
      p,
      [X, (gamma?.storage.handle as GPUBuffer) ?? X, g.storage.handle as GPUBuffer, dx, mean.storage.handle as GPUBuffer, rstd.storage.handle as GPUBuffer, gxhat],
      grid1D(rows, 1, rt.limits.maxComputeWorkgroupsPerDimension),
      shapeStr(x.shape),
    );
  }
  return { dx, gxhat };
}
