/**
 * Row reductions shared by the row kernels (softmax, layerNorm): the WGSL tokens that pick
 * subgroup operations where the device has them (wgsl/rowreduce-subgroup.wgsl) or workgroup-memory
 * trees where it does not (wgsl/rowreduce-tree.wgsl), and the layout: L lanes per row, WG / L rows
 * per workgroup, so short rows do not leave most of a workgroup idle. Results agree to rounding;
 * only the summation order differs.
 */
import subgroupCode from '../../../wgsl/rowreduce-subgroup.wgsl';
import treeCode from '../../../wgsl/rowreduce-tree.wgsl';
import type { GpuRuntime } from '../../gpu/runtime.js';
import { wgsl } from './source.js';

export interface RowLayout {
  /** Workgroup size: one subgroup (the adapter's smallest) where subgroups exist, else 64. */
  wg: number;
  /** Rows per workgroup (WG / L). */
  rowsPerGroup: number;
  /** Invocations per row (L): each loops over about n / L of its row's loads. */
  lanes: number;
  /** Tokens ENABLE, ROW_REDUCE, WG, L, SG_PARAM (an extra entry-point parameter) and SLOT. */
  tokens: Record<string, string | number>;
  /** Part of a pipeline cache key. */
  key: string;
}

/** The layout for rows of `units` loads each (vec4s or floats): L = the next power of two, at most WG. */
export function rowLayout(rt: GpuRuntime, units: number): RowLayout {
  const sg = rt.subgroupMin;
  const useSg = sg !== null && sg >= 4 && sg <= 128 && (sg & (sg - 1)) === 0;
  const wg = useSg ? sg : 64;
  let L = 1;
  while (L < units && L < wg) L *= 2;
  // The tree pins its reads where the capability probe found them moved past a barrier (src/gpu/probe.ts).
  const pin = !useSg && rt.quirks.sharedReadsMoved;
  const tokens = useSg
    ? { ENABLE: 'enable subgroups;', ROW_REDUCE: subgroupCode, SG_PARAM: ', @builtin(subgroup_invocation_id) sgi: u32', SLOT: 'sgi' }
    : { ENABLE: '', ROW_REDUCE: wgsl(treeCode, { PIN_READS: pin ? 'true' : 'false' }), SG_PARAM: '', SLOT: 'lid' };
  return {
    wg,
    rowsPerGroup: wg / L,
    lanes: L,
    key: `${useSg ? `sg${wg}` : pin ? 'tree-pinned' : 'tree'}:L${L}`,
    tokens: { ...tokens, WG: wg, L },
  };
}

/** Tokens VT, HMAX, HSUM for kernels that load rows as vec4 or as f32. */
export const VEC4_TOKENS = { VT: 'vec4<f32>', HMAX: 'max(max(v.x, v.y), max(v.z, v.w))', HSUM: 'dot(v, vec4<f32>(1.0))' };
export const SCALAR_TOKENS = { VT: 'f32', HMAX: 'v', HSUM: 'v' };
