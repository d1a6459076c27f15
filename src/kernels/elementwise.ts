/** GPU side of elementwise ops: specializes wgsl/elementwise.wgsl for an op from the op table. */
import template from '../../wgsl/elementwise.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../gpu/runtime.js';
import { isContiguous, sizeOf, type DType, type View } from '../backend/backend.js';
import type { MapOp } from '../backend/op-table.js';
import { COPY } from '../backend/op-table.js';
import { Params, wgsl, wgslType } from './source.js';
import { shapeStr } from '../gpu/errors.js';

const NAMES = ['a', 'b', 'c', 'd'];

/** How the kernel reads an input: 'c' contiguous (base + i), 's' one broadcast value, 'g' strided. */
type Layout = 'c' | 's' | 'g';

function layoutOf(v: View, shape: readonly number[]): Layout {
  if (v.strides.every((s, d) => s === 0 || shape[d] === 1)) return 's';
  if (isContiguous(v) && v.shape.every((d, i) => d === shape[i])) return 'c';
  return 'g';
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
            l === 'c' ? `P.offsets[${k}] + i` : l === 's' ? `P.offsets[${k}]` : `strided_offset(i, P.rank, P.shape, P.strides[${k}], P.offsets[${k}])`;
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
  const layouts = inputs.map((v) => layoutOf(v, shape));
  const kernel = mapKernel(
    op,
    inputs.map((v) => v.dtype),
    layouts,
    outDtype,
  );
  const p = new Params().u32(n, shape.length).f32(params[0] ?? 0, params[1] ?? 0).dims8(shape);
  for (let k = 0; k < 4; k++) p.dims8(inputs[k]?.strides ?? []);
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
