/** GPU fused optimizer step over flat buffers (wgsl/optim.wgsl). */
import template from '../../../wgsl/optim.wgsl';
import { type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import { Params, wgsl } from './source.js';

const BINDINGS = ['uniform', 'rw', 'read', 'rw', 'rw', 'read', 'read', 'rw'] as const;

const statsKernel: Kernel = { name: 'optim_stats', key: 'optim:stats', bindings: BINDINGS, entryPoint: 'stats', code: () => wgsl(template) };
const updateKernel: Kernel = { name: 'optim_update', key: 'optim:update', bindings: BINDINGS, entryPoint: 'update', code: () => wgsl(template) };

/** Workgroups of the stats pass (= partial sums the update pass reduces). */
export const OPTIM_PARTIALS = 64;
/** Most workgroups of the update pass (it loops with a grid stride). */
export const OPTIM_UPDATE_GROUPS = 512;
/** Control floats after the partials: count (u32 bits), applied, grad norm, skipped steps, loss. */
export const OPTIM_CTRL = 8;

export const OPTIM_KIND = { sgd: 0, adam: 1, adamw: 2 } as const;

export interface OptimHyper {
  kind: keyof typeof OPTIM_KIND;
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient norm to this (0 or Infinity: no clipping). */
  maxNorm: number;
  /** Whether STATS' loss slot holds this step's loss (copied in by the caller). */
  checkLoss: boolean;
}

export interface OptimBuffers {
  P: GPUBuffer;
  G: GPUBuffer;
  S1: GPUBuffer;
  S2: GPUBuffer;
  SEG: GPUBuffer;
  SEGINFO: GPUBuffer;
  STATS: GPUBuffer;
}

/** Records the two dispatches of one step (stats pass, fused update). */
export function runOptimStep(rt: GpuRuntime, b: OptimBuffers, n: number, nseg: number, h: OptimHyper): void {
  const clip = Number.isFinite(h.maxNorm) && h.maxNorm > 0;
  const flags = (h.nesterov ? 1 : 0) | (clip ? 2 : 0) | (h.checkLoss ? 4 : 0);
  const p = new Params()
    .u32(n, nseg, OPTIM_KIND[h.kind], flags)
    .f32(h.lr, h.momentum, h.dampening, h.weightDecay)
    .f32(h.beta1, h.beta2, h.eps, clip ? h.maxNorm : 0)
    .u32(OPTIM_PARTIALS, 0, 0, 0)
    .build();
  const buffers = [b.P, b.G, b.S1, b.S2, b.SEG, b.SEGINFO, b.STATS];
  const describe = `${h.kind} n=${n} tensors=${nseg}`;
  rt.dispatch(statsKernel, p, buffers, [OPTIM_PARTIALS], describe);
  rt.dispatch(updateKernel, p, buffers, [Math.min(Math.ceil(n / 256), OPTIM_UPDATE_GROUPS)], describe);
}
