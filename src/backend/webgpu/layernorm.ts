/** GPU LayerNorm forward/backward over the last axis (wgsl/layernorm.wgsl). */
import template from '../../../wgsl/layernorm.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import { sizeOf, type View } from '../backend.js';
import { Params, wgsl } from './source.js';
import { shapeStr } from '../../gpu/errors.js';
import { rowLayout, SCALAR_TOKENS, VEC4_TOKENS, type RowLayout } from './rowreduce.js';

function kernel(rr: RowLayout, backward: boolean, vec4: boolean): Kernel {
  return {
    name: backward ? 'layer_norm_backward' : 'layer_norm',
    key: `layernorm:${backward ? 'backward' : 'forward'}:${vec4 ? 4 : 1}:${rr.key}`,
    bindings: backward ? ['uniform', 'read', 'read', 'read', 'rw', 'read', 'read', 'rw'] : ['uniform', 'read', 'read', 'read', 'rw', 'rw', 'rw'],
    entryPoint: backward ? 'backward' : 'forward',
    code: () => wgsl(template, { ...(vec4 ? VEC4_TOKENS : SCALAR_TOKENS), ...rr.tokens }),
  };
}

/** Records one row-kernel dispatch: rows of n elements, loaded as vec4 when n allows. */
function dispatchRows(rt: GpuRuntime, backward: boolean, rows: number, n: number, eps: number, affine: boolean, buffers: GPUBuffer[], describe: string): void {
  const w = n % 4 === 0 ? 4 : 1;
  const rr = rowLayout(rt, n / w);
  // Uniforms: rows, row length in loaded units, eps, affine flag, row length in elements.
  const p = new Params().u32(rows, n / w).f32(eps).u32(affine ? 1 : 0).f32(n).build();
  const groups = Math.ceil(rows / rr.rowsPerGroup);
  // Up to three passes over the row per invocation (mean, variance, write), each n / L loads long.
  rt.checkLoopTrips(backward ? 'layer_norm_backward' : 'layer_norm', 3 * Math.ceil(n / w / rr.lanes), describe);
  rt.dispatch(kernel(rr, backward, w === 4), p, buffers, grid1D(groups, 1, rt.limits.maxComputeWorkgroupsPerDimension), describe);
}

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
    const gb = (gamma?.storage.handle as GPUBuffer) ?? X;
    const bb = (beta?.storage.handle as GPUBuffer) ?? X;
    dispatchRows(rt, false, rows, n, eps, !!gamma, [X, gb, bb, y, mean, rstd], shapeStr(x.shape));
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
    const buffers = [X, (gamma?.storage.handle as GPUBuffer) ?? X, g.storage.handle as GPUBuffer, dx, mean.storage.handle as GPUBuffer, rstd.storage.handle as GPUBuffer, gxhat];
    dispatchRows(rt, true, rows, n, 0, !!gamma, buffers, shapeStr(x.shape));
  }
  return { dx, gxhat };
}
