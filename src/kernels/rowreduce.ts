/**
 * Row reductions shared by the one-workgroup-per-row kernels (softmax, layerNorm): the WGSL
 * tokens that pick subgroup operations where the device has them (wgsl/rowreduce-subgroup.wgsl)
 * or workgroup-memory trees where it does not (wgsl/rowreduce-tree.wgsl). Results agree to
 * rounding; only the summation order differs.
 */
import subgroupCode from '../../wgsl/rowreduce-subgroup.wgsl';
import treeCode from '../../wgsl/rowreduce-tree.wgsl';
import type { GpuRuntime } from '../gpu/runtime.js';

export interface RowReduce {
  /** Workgroup size: one subgroup (the adapter's smallest) where subgroups exist, else 64. */
  wg: number;
  /** Tokens ENABLE (the module's enable directive), ROW_REDUCE (the functions) and WG. */
  tokens: Record<string, string | number>;
  /** Part of a pipeline cache key. */
  key: string;
}

export function rowReduce(rt: GpuRuntime): RowReduce {
  const sg = rt.subgroupMin;
  if (sg !== null && sg >= 4 && sg <= 128 && (sg & (sg - 1)) === 0) {
    return { wg: sg, key: `sg${sg}`, tokens: { ENABLE: 'enable subgroups;', ROW_REDUCE: subgroupCode, WG: sg } };
  }
  return { wg: 64, key: 'tree', tokens: { ENABLE: '', ROW_REDUCE: treeCode, WG: 64 } };
}

/** Tokens VT, HMAX, HSUM for kernels that load rows as vec4 or as f32. */
export const VEC4_TOKENS = { VT: 'vec4<f32>', HMAX: 'max(max(v.x, v.y), max(v.z, v.w))', HSUM: 'dot(v, vec4<f32>(1.0))' };
export const SCALAR_TOKENS = { VT: 'f32', HMAX: 'v', HSUM: 'v' };
