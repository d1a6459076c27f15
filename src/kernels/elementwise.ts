/** GPU side of elementwise ops: specializes wgsl/elementwise.wgsl for an op from the op table. */
import template from '../../wgsl/elementwise.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../gpu/runtime.js';
import { sizeOf, type DType, type View } from '../backend/backend.js';
import type { MapOp } from '../backend/op-table.js';
import { COPY } from '../backend/op-table.js';
import { Params, wgsl, wgslType } from './source.js';
import { shapeStr } from '../gpu/errors.js';

const NAMES = ['a', 'b', 'c', 'd'];

/**
 * How the kernel reads an input: 'c' contiguous (base + i), 's' one broadcast value, 'b' one
 * contiguous block broadcast over the dims around it (base + (i / rep) % inner: a bias row, a
 * per-row statistic), 'g' any other strided view (a div/mod per dim).
 */
type Layout = 'c' | 's' | 'b' | 'g';

interface Merged {
  shape: number[];
  strides: number[][];
}

/**
 * Drops size-1 dims and merges adjacent dims that are one run in every input, so a broadcast or
 * permuted view usually needs fewer dims (and the cheap layouts apply more often).
 */
export function mergeViews(shape: readonly number[], views: readonly View[]): Merged {
  const out: Merged = { shape: [], strides: views.map(() => []) };
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = out.shape.length - 1;
    if (last >= 0 && views.every((v, k) => out.strides[k][last] === v.strides[d] * shape[d])) {
      out.shape[last] *= shape[d];
      views.forEach((v, k) => (out.strides[k][last] = v.strides[d]));
    } else {
      out.shape.push(shape[d]);
      views.forEach((v, k) => out.strides[k].push(v.strides[d]));
    }
  }
  return out;
}

function layoutOf(strides: readonly number[], shape: readonly number[]): { layout: Layout; block: [number, number] } {
  const none: [number, number] = [0, 0];
  if (strides.every((s) => s === 0)) return { layout: 's', block: none };
  let d = shape.length - 1;
  let rep = 1; // trailing broadcast dims
  while (d >= 0 && strides[d] === 0) rep *= shape[d--];
  let inner = 1; // then a contiguous run
  while (d >= 0 && strides[d] === inner) inner *= shape[d--];
  const restBroadcast = strides.slice(0, d + 1).every((s) => s === 0);
  if (rep === 1 && d < 0) return { layout: 'c', block: none };
  if (restBroadcast) return { layout: 'b', block: [inner, rep] };
  return { layout: 'g', block: none };
}

function mapKernel(op: MapOp, dtypes: DType[], layouts: Layout[], outDtype: DType): Kernel {
  const key = `map:${op.name}:${dtypes.map((d, i) => d[0] + layouts[i]).join('')}:${outDtype[0]}`;
  const rawCopy = op === COPY && dtypes[0] === outDtype;
  return {
    name: op.name,
    key,
    bindings: ['uniform', ...dtypes.map(() => 'read' as const), 'rw'],
    code: () => {
      const bindings = dtypes
        .map((dt, k) => `@group(0) @binding(${k + 1}) var<storage, read> X${k}: array<${wgslType(dt)}>;`)
        .concat(`@group(0) @binding(${dtypes.length + 1}) var<storage, read_write> Y: array<${wgslType(outDtype)}>;`)
        .join('\n');
      const loads = layouts
        .map((l, k) => {
          const off =
            l === 'c'
              ? `P.offsets[${k}] + i`
              : l === 's'
                ? `P.offsets[${k}]`
                : l === 'b'
                  ? `P.offsets[${k}] + (i / P.strides[${k}][0].y) % P.strides[${k}][0].x`
                  : `strided_offset(i, P.rank, P.shape, P.strides[${k}], P.offsets[${k}])`;
          return rawCopy ? `  let raw = X${k}[${off}];` : `  let ${NAMES[k]} = f32(X${k}[${off}]);`;
        })
        .join('\n');
      const expr = rawCopy ? 'raw' : `${wgslType(outDtype)}(${op.wgsl})`;
      // Unused names must still exist for expressions that mention them conditionally.
      return wgsl(template, { BINDINGS: bindings, LOADS: loads, STORE: expr });
    },
  };
}

export function runMap(
  rt: GpuRuntime,
  op: MapOp,
  inputs: View[],
  shape: readonly number[],
  outDtype: DType,
  params: readonly number[] = [],
): GPUBuffer {
  const n = sizeOf(shape);
  const out = rt.alloc(n * 4, `${op.name} output ${shapeStr(shape)}`);
  if (n === 0) return out;
  const merged = mergeViews(shape, inputs);
  const kinds = merged.strides.map((st) => layoutOf(st, merged.shape));
  const layouts = kinds.map((k) => k.layout);
  const kernel = mapKernel(
    op,
    inputs.map((v) => v.dtype),
    layouts,
    outDtype,
  );
  const p = new Params().u32(n, merged.shape.length).f32(params[0] ?? 0, params[1] ?? 0).dims8(merged.shape);
  // A 'b' input's stride slot carries (block length, repeat) instead of strides.
  for (let k = 0; k < 4; k++) p.dims8(kinds[k]?.layout === 'b' ? kinds[k].block : (merged.strides[k] ?? []));
  p.u32(...[0, 1, 2, 3].map((k) => inputs[k]?.offset ?? 0));
  const [x, y] = grid1D(n, 256, rt.limits.maxComputeWorkgroupsPerDimension);
  rt.dispatch(
    kernel,
    p.build(),
    [...inputs.map((v) => v.storage.handle as GPUBuffer), out],
    [x, y],
    inputs.map((v) => shapeStr(v.shape)).join(' ') + ` -> ${shapeStr(shape)}`,
  );
  return out;
}
