/** GPU softmax / log-softmax over the last axis and its backward (wgsl/softmax.wgsl). */
import template from '../../../wgsl/softmax.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import { sizeOf, type View } from '../backend.js';
import { Params, wgsl } from './source.js';
import { shapeStr } from '../../gpu/errors.js';
import { rowLayout, SCALAR_TOKENS, VEC4_TOKENS, type RowLayout } from './rowreduce.js';

function kernel(rr: RowLayout, log: boolean, backward: boolean, vec4: boolean): Kernel {
  return {
    name: `${log ? 'log_' : ''}softmax${backward ? '_backward' : ''}`,
    key: `softmax:${log}:${backward}:${vec4 ? 4 : 1}:${rr.key}`,
    bindings: backward ? ['uniform', 'read', 'read', 'rw'] : ['uniform', 'read', 'rw'],
    entryPoint: backward ? 'backward' : 'forward',
    code: () => wgsl(template, { LOG: String(log), ...(vec4 ? VEC4_TOKENS : SCALAR_TOKENS), ...rr.tokens }),
  };
}

/** x and g must be contiguous (the caller makes them so). */
export function runSoftmax(rt: GpuRuntime, x: View, log: boolean, g: View | null = null): GPUBuffer {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const total = sizeOf(x.shape);
  const rows = n === 0 ? 0 : total / n;
  const out = rt.alloc(total * 4, `softmax output ${shapeStr(x.shape)}`);
  if (total === 0) return out;
  const w = n % 4 === 0 && x.offset % 4 === 0 && (g?.offset ?? 0) % 4 === 0 ? 4 : 1;
  const p = new Params().u32(rows, n / w, x.offset / w, (g?.offset ?? 0) / w).build();
  const buffers = [x.storage.handle as GPUBuffer];
  if (g) buffers.push(g.storage.handle as GPUBuffer);
  buffers.push(out);
  const rr = rowLayout(rt, n / w);
  const groups = Math.ceil(rows / rr.rowsPerGroup);
  // Three passes over the row per invocation (max, sum, write), each n / L loads long.
  rt.checkLoopTrips(log ? 'log_softmax' : 'softmax', 3 * Math.ceil(n / w / rr.lanes), shapeStr(x.shape));
  rt.dispatch(kernel(rr, log, !!g, w === 4), p, buffers, grid1D(groups, 1, rt.limits.maxComputeWorkgroupsPerDimension), shapeStr(x.shape));
  return out;
}
