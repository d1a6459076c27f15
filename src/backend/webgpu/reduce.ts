/** GPU reductions over arbitrary axes (wgsl/reduce.wgsl). */
import template from '../../../wgsl/reduce.wgsl';
import rowSumTemplate from '../../../wgsl/rowsum.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import { sizeOf, type DType, type ReduceOp, type View } from '../backend.js';
import { Params, wgsl, wgslType } from './source.js';
import { shapeStr } from '../../gpu/errors.js';
import { rowLayout, SCALAR_TOKENS, VEC4_TOKENS } from './rowreduce.js';

const OP_CODE: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2, argmax: 3, argmin: 4, logsumexp: 5 };

/** Merges adjacent dims that are one run in memory, so most reductions see a single stride. */
export function mergeDims(shape: number[], strides: number[]): { shape: number[]; strides: number[] } {
  const s: number[] = [];
  const t: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && t[last] === strides[d] * shape[d]) {
      s[last] *= shape[d];
      t[last] = strides[d];
    } else {
      s.push(shape[d]);
      t.push(strides[d]);
    }
  }
  return { shape: s, strides: t };
}

function reduceKernel(op: ReduceOp, inDtype: DType, outDtype: DType, serial: boolean): Kernel {
  return {
    name: `reduce_${op}`,
    key: `reduce:${op}:${inDtype}:${outDtype}:${serial ? 's' : 't'}`,
    bindings: ['uniform', 'read', 'rw'],
    entryPoint: serial ? 'main_serial' : 'main_tree',
    code: () => wgsl(template, { IN_T: wgslType(inDtype), OUT_T: wgslType(outDtype), OP: OP_CODE[op] }),
  };
}

export function runReduce(rt: GpuRuntime, op: ReduceOp, x: View, axes: readonly number[], scale: number, outDtype: DType): GPUBuffer {
  const keep = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const sorted = [...axes].sort((a, b) => a - b);
  const outShape = keep.map((d) => x.shape[d]);
  const nOut = sizeOf(outShape);
  const out = rt.alloc(nOut * 4, `${op} output ${shapeStr(outShape)}`);
  if (nOut === 0) return out;
  const red = mergeDims(
    sorted.map((d) => x.shape[d]),
    sorted.map((d) => x.strides[d]),
  );
  const kept = mergeDims(
    keep.map((d) => x.shape[d]),
    keep.map((d) => x.strides[d]),
  );
  const nRed = sizeOf(red.shape);
  if (red.shape.length === 0) {
    red.shape.push(1);
    red.strides.push(0);
  }
  const describe = `${shapeStr(x.shape)} axes [${axes.join(',')}]`;
  // A float sum or max over contiguous rows (the reduced run innermost, rows back to back) takes the row kernel.
  const rowsBackToBack = kept.shape.length === 0 || (kept.shape.length === 1 && kept.strides[0] === nRed);
  if ((op === 'sum' || op === 'max') && x.dtype === 'float32' && nRed > 0 && red.strides.length === 1 && red.strides[0] === 1 && rowsBackToBack) {
    runRowReduce(rt, op, x.storage.handle as GPUBuffer, x.offset, nOut, nRed, scale, out, describe);
    return out;
  }
  // One invocation per output (serial) loops over the whole reduction: not past the adapter's loop limit.
  const serial = (nRed <= 128 || nOut >= 16384) && nRed <= rt.loopTrips;
  rt.checkLoopTrips(`reduce_${op}`, serial ? nRed : Math.ceil(nRed / 64) * (op === 'logsumexp' ? 2 : 1), describe);
  const p = new Params()
    .u32(nOut, nRed, kept.shape.length, red.shape.length)
    .f32(scale)
    .u32(x.offset)
    .f32(-Infinity)
    .dims8(kept.shape)
    .dims8(kept.strides)
    .dims8(red.shape)
    .dims8(red.strides);
  const [gx, gy] = serial ? grid1D(nOut, 64, rt.limits.maxComputeWorkgroupsPerDimension) : grid1D(nOut, 1, rt.limits.maxComputeWorkgroupsPerDimension);
  rt.dispatch(reduceKernel(op, x.dtype, outDtype, serial), p.build(), [x.storage.handle as GPUBuffer, out], [gx, gy], describe);
  return out;
}

/**
 * out[r] = scale · sum (or max) of x[offset + r·n .. + n) for r < rows (wgsl/rowsum.wgsl). Rows
 * longer than the adapter's loop limit allows (src/gpu/probe.ts) are reduced in segments, then
 * the segments' partial results.
 */
function runRowReduce(rt: GpuRuntime, op: 'sum' | 'max', x: GPUBuffer, offset: number, rows: number, n: number, scale: number, out: GPUBuffer, describe: string): void {
  const w = n % 4 === 0 && offset % 4 === 0 ? 4 : 1;
  const units = n / w;
  const rr = rowLayout(rt, units);
  const tripsAllowed = Math.max(1, rt.loopTrips);
  let segLen = units;
  if (Math.ceil(units / rr.lanes) > tripsAllowed) segLen = Math.min(units, tripsAllowed * rr.lanes);
  const segs = Math.ceil(units / segLen);
  const kernel: Kernel = {
    name: `reduce_${op}`,
    key: `reduce:row${op}:${w}:${rr.key}`,
    bindings: ['uniform', 'read', 'rw'],
    code: () =>
      wgsl(rowSumTemplate, {
        ...(w === 4 ? VEC4_TOKENS : SCALAR_TOKENS),
        ...rr.tokens,
        MAX: op === 'max' ? 'true' : 'false',
        WIDTH: w,
        COMPONENT: w === 4 ? 'v[c]' : 'v',
      }),
  };
  const dst = segs > 1 ? rt.alloc(rows * segs * 4, `${op} of row segments ${shapeStr([rows, segs])}`) : out;
  const p = new Params().u32(rows * segs, units, offset / w).f32(segs > 1 ? 1 : scale, -Infinity).u32(segLen, segs).build();
  rt.dispatch(kernel, p, [x, dst], grid1D(Math.ceil((rows * segs) / rr.rowsPerGroup), 1, rt.limits.maxComputeWorkgroupsPerDimension), describe);
  if (segs > 1) {
    runRowReduce(rt, op, dst, 0, rows, segs, scale, out, `${describe} (${segs} segments per row)`);
    rt.free(dst);
  }
}
