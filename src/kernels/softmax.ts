/** GPU softmax / log-softmax over the last axis and its backward (wgsl/softmax.wgsl). */
import template from '../../wgsl/softmax.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../gpu/runtime.js';
import { sizeOf, type View } from '../backend/backend.js';
import { Params, wgsl } from './source.js';
import { shapeStr } from '../gpu/errors.js';

function kernel(log: boolean, backward: boolean): Kernel {
  return {
    name: `${log ? 'log_' : ''}softmax${backward ? '_backward' : ''}`,
    key: `softmax:${log}:${backward}`,
    bindings: backward ? ['uniform', 'read', 'read', 'rw'] : ['uniform', 'read', 'rw'],
    entryPoint: backward ? 'backward' : 'forward',
    code: () => wgsl(template, { LOG: String(log) }),
  };
}

/** x and g must be contiguous (the caller makes them so). */
export function runSoftmax(rt: GpuRuntime, x: View, log: boolean, g: View | null = null): GPUBuffer {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const total = sizeOf(x.shape);
  const rows = n === 0 ? 0 : total / n;
  const out = rt.alloc(total * 4, `softmax output ${shapeStr(x.shape)}`);
  if (total === 0) return out;
  const p = new Params().u32(rows, n, x.offset, g?.offset ?? 0).build();
  const buffers = [x.storage.handle as GPUBuffer];
  if (g) buffers.push(g.storage.handle as GPUBuffer);
  buffers.push(out);
  rt.dispatch(kernel(log, !!g), p, buffers, grid1D(rows, 1, rt.limits.maxComputeWorkgroupsPerDimension), shapeStr(x.shape));
  return out;
}
