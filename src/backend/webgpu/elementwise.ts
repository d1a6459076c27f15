/** GPU side of elementwise ops: specializes wgsl/elementwise.wgsl for an op from the op table. */
import template from '../../../wgsl/elementwise.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import { sizeOf, type DType, type View } from '../backend.js';
import type { MapOp } from '../op-table.js';
import { COPY } from '../op-table.js';
import { Params, wgsl, wgslType } from './source.js';
import { shapeStr } from '../../gpu/errors.js';

const NAMES = ['a', 'b', 'c', 'd'];

/**
 * How the kernel reads an input: 'c' contiguous (base + i), 's' one broadcast value, 'b' one
 * contiguous block broadcast over the dims around it (base + (i / rep) % inner: a bias row, a
 * per-row statistic), 'o' such a block broadcast over middle dims under one outer dim
 * (+ (i / span) · outer: [B, 1, C] read as [B, T, C], the gradient of a mean over a middle axis),
 * 'g' any other strided view (a div/mod per dim, slow on a CPU adapter: 20× 'o' at [8, 26, 20480]).
 */
type Layout = 'c' | 's' | 'b' | 'o' | 'g';

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

function layoutOf(strides: readonly number[], shape: readonly number[]): { layout: Layout; block: number[] } {
  const none = [0, 0];
  if (strides.every((s) => s === 0)) return { layout: 's', block: none };
  let d = shape.length - 1;
  let rep = 1; // trailing broadcast dims
  while (d >= 0 && strides[d] === 0) rep *= shape[d--];
  let inner = 1; // then a contiguous run
  while (d >= 0 && strides[d] === inner) inner *= shape[d--];
  const restBroadcast = strides.slice(0, d + 1).every((s) => s === 0);
  if (rep === 1 && d < 0) return { layout: 'c', block: none };
  if (restBroadcast) return { layout: 'b', block: [inner, rep] };
  // 'o': [outer][broadcast middle dims][contiguous run][broadcast trailing dims], outermost first.
  let mid = 1;
  while (d >= 0 && strides[d] === 0) mid *= shape[d--];
  if (d === 0 && mid > 1) return { layout: 'o', block: [inner, rep, rep * inner * mid, strides[0]] };
  return { layout: 'g', block: none };
}

/**
 * The vec4 variant's read of each input: 'v' a vec4 of 4 consecutive elements, 'x' one value
 * shared by the 4 outputs (scalar, or a block repeated in runs of a multiple of 4); null when an
 * input rules the variant out (a general strided view, a run or offset not aligned to 4).
 */
type VecRead = 'v' | 'x';

function vecReads(n: number, kinds: readonly { layout: Layout; block: number[] }[], offsets: readonly number[]): VecRead[] | null {
  if (n % 4 !== 0) return null;
  const reads: VecRead[] = [];
  for (const [k, { layout, block }] of kinds.entries()) {
    const aligned = offsets[k] % 4 === 0;
    if (layout === 's') reads.push('x');
    else if (layout === 'c' && aligned) reads.push('v');
    else if (layout === 'b' && block[1] === 1 && block[0] % 4 === 0 && aligned) reads.push('v');
    else if (layout === 'b' && block[1] % 4 === 0) reads.push('x');
    else if (layout === 'o' && block[1] === 1 && block[0] % 4 === 0 && block[3] % 4 === 0 && aligned) reads.push('v');
    else if (layout === 'o' && block[1] % 4 === 0) reads.push('x');
    else return null;
  }
  return reads;
}

/** The element index an input reads for output element i, per layout (see Layout). */
function offsetExpr(l: Layout, k: number): string {
  if (l === 'c') return `P.offsets[${k}] + i`;
  if (l === 's') return `P.offsets[${k}]`;
  if (l === 'b') return `P.offsets[${k}] + (i / P.strides[${k}][0].y) % P.strides[${k}][0].x`;
  if (l === 'o') return `P.offsets[${k}] + (i / P.strides[${k}][0].y) % P.strides[${k}][0].x + (i / P.strides[${k}][0].z) * P.strides[${k}][0].w`;
  return `strided_offset(i, P.rank, P.shape, P.strides[${k}], P.offsets[${k}])`;
}

function mapKernel(op: MapOp, dtypes: DType[], layouts: Layout[], outDtype: DType, vec: VecRead[] | null): Kernel {
  const rawCopy = op === COPY && dtypes[0] === outDtype;
  const key = `map:${op.name}:${dtypes.map((d, i) => d[0] + layouts[i] + (vec?.[i] ?? '')).join('')}:${outDtype[0]}${vec ? ':v4' : ''}`;
  const out = wgslType(outDtype);
  return {
    name: op.name,
    key,
    bindings: ['uniform', ...dtypes.map(() => 'read' as const), 'rw'],
    code: () => {
      const elem = (dt: DType, k: number) => (vec?.[k] === 'v' ? `vec4<${wgslType(dt)}>` : wgslType(dt));
      const bindings = dtypes
        .map((dt, k) => `@group(0) @binding(${k + 1}) var<storage, read> X${k}: array<${elem(dt, k)}>;`)
        .concat(`@group(0) @binding(${dtypes.length + 1}) var<storage, read_write> Y: array<${vec ? `vec4<${out}>` : out}>;`)
        .join('\n');
      let body: string[];
      if (!vec) {
        body = ['  let i = t;'];
        for (const [k, l] of layouts.entries()) body.push(rawCopy ? `  let raw = X${k}[${offsetExpr(l, k)}];` : `  let ${NAMES[k]} = f32(X${k}[${offsetExpr(l, k)}]);`);
        body.push(`  Y[i] = ${rawCopy ? 'raw' : `${out}(${op.wgsl})`};`);
      } else if (rawCopy) {
        body = ['  let i = 4u * t;', `  Y[t] = ${vec[0] === 'v' ? `X0[(${offsetExpr(layouts[0], 0)}) / 4u]` : `vec4<${out}>(X0[${offsetExpr(layouts[0], 0)}])`};`];
      } else {
        // Loads once per input, then the op's scalar expression once per component.
        body = ['  let i = 4u * t;'];
        for (const [k, l] of layouts.entries()) {
          body.push(vec[k] === 'v' ? `  let ${NAMES[k]}4 = vec4<f32>(X${k}[(${offsetExpr(l, k)}) / 4u]);` : `  let ${NAMES[k]}4 = vec4<f32>(f32(X${k}[${offsetExpr(l, k)}]));`);
        }
        body.push(`  var r: vec4<${out}>;`);
        for (const [c, comp] of ['x', 'y', 'z', 'w'].entries()) {
          const names = layouts.map((_, k) => `let ${NAMES[k]} = ${NAMES[k]}4.${comp};`).join(' ');
          body.push(`  { let i = 4u * t + ${c}u; ${names} r[${c}] = ${out}(${op.wgsl}); }`); // i: for index-based ops (arange)
        }
        body.push('  Y[t] = r;');
      }
      return wgsl(template, { BINDINGS: bindings, BODY: body.join('\n') });
    },
  };
}

/** How runMap reads each input for an output of `shape`: merged dims, layouts, vec4 reads (or null). */
export function mapPlan(shape: readonly number[], inputs: readonly View[]) {
  const merged = mergeViews(shape, inputs);
  const kinds = merged.strides.map((st) => layoutOf(st, merged.shape));
  const layouts = kinds.map((k) => k.layout);
  const vec = vecReads(sizeOf(shape), kinds, inputs.map((v) => v.offset));
  return { merged, kinds, layouts, vec };
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
  const { merged, kinds, layouts, vec } = mapPlan(shape, inputs);
  const kernel = mapKernel(
    op,
    inputs.map((v) => v.dtype),
    layouts,
    outDtype,
    vec,
  );
  const invocations = vec ? n / 4 : n;
  const p = new Params().u32(invocations, merged.shape.length).f32(params[0] ?? 0, params[1] ?? 0).dims8(merged.shape);
  // A 'b' input's stride slot carries (block length, repeat) instead of strides; an 'o' input's
  // also (span of one outer index, outer stride).
  for (let k = 0; k < 4; k++) p.dims8(kinds[k]?.layout === 'b' || kinds[k]?.layout === 'o' ? kinds[k].block : (merged.strides[k] ?? []));
  p.u32(...[0, 1, 2, 3].map((k) => inputs[k]?.offset ?? 0));
  const [x, y] = grid1D(invocations, 256, rt.limits.maxComputeWorkgroupsPerDimension);
  rt.dispatch(
    kernel,
    p.build(),
    [...inputs.map((v) => v.storage.handle as GPUBuffer), out],
    [x, y],
    inputs.map((v) => shapeStr(v.shape)).join(' ') + ` -> ${shapeStr(shape)}`,
  );
  return out;
}
