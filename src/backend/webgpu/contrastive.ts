/** GPU two-direction contrastive softmax loss and its backward (wgsl/contrastive.wgsl). */
import template from '../../../wgsl/contrastive.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import type { View } from '../backend.js';
import { Params, wgsl } from './source.js';
import { shapeStr } from '../../gpu/errors.js';

const RBK = 8;

type Entry = 'lse_blocks' | 'finalize' | 'lse_small' | 'backward';

/** Up to this B, one workgroup computes the whole forward: one dispatch, where two cost more. */
const SMALL_B = 256;

const KERNELS: Record<Entry, Kernel> = {
  lse_blocks: { name: 'contrastive_lse', key: 'contrastive:lse_blocks', bindings: ['uniform', 'read', 'rw'], entryPoint: 'lse_blocks', code: () => wgsl(template) },
  finalize: { name: 'contrastive_finalize', key: 'contrastive:finalize', bindings: ['uniform', 'read', 'rw', 'rw'], entryPoint: 'finalize', code: () => wgsl(template) },
  lse_small: { name: 'contrastive_lse_small', key: 'contrastive:lse_small', bindings: ['uniform', 'read', 'rw', 'rw'], entryPoint: 'lse_small', code: () => wgsl(template) },
  backward: { name: 'contrastive_backward', key: 'contrastive:backward', bindings: ['uniform', 'read', 'read', 'read', 'rw'], entryPoint: 'backward', code: () => wgsl(template) },
};

export interface ContrastiveOpts {
  /** Logits are scale·X. */
  scale: number;
  /** Label smoothing ε. */
  smooth: number;
  /** Factor on the summed per-sample cross-entropies: 1/B (sum of directions) or 1/(2B) (mean). */
  c: number;
}

function params(B: number, nblk: number, xOff: number, gOff: number, o: ContrastiveOpts): ArrayBuffer {
  return new Params().u32(B, nblk, xOff, gOff).f32(o.scale, o.smooth, o.c, 0).build();
}

export function statsLength(B: number): number {
  const nblk = Math.ceil(B / RBK);
  return 2 * B + 2 * nblk * B + nblk;
}

/** x: a contiguous [B, B] view. Returns the stats buffer (row LSE, column LSE, ...) and the scalar loss. */
export function runContrastiveForward(rt: GpuRuntime, x: View, B: number, o: ContrastiveOpts): { stats: GPUBuffer; loss: GPUBuffer } {
  const nblk = Math.ceil(B / RBK);
  const stats = rt.alloc(statsLength(B) * 4, `contrastive stats B=${B}`);
  const loss = rt.alloc(4, 'contrastive loss');
  const xb = x.storage.handle as GPUBuffer;
  const p = params(B, nblk, x.offset, 0, o);
  if (B <= SMALL_B) {
    rt.dispatch(KERNELS.lse_small, p, [xb, stats, loss], [1], shapeStr([B, B]));
    return { stats, loss };
  }
  rt.dispatch(KERNELS.lse_blocks, p, [xb, stats], grid1D(nblk, 1, rt.limits.maxComputeWorkgroupsPerDimension), shapeStr([B, B]));
  rt.dispatch(KERNELS.finalize, p, [xb, stats, loss], [1], shapeStr([B, B]));
  return { stats, loss };
}

/** dL/dX [B, B] given the forward stats and the upstream scalar gradient g (a one-element view). */
export function runContrastiveBackward(rt: GpuRuntime, x: View, B: number, stats: GPUBuffer, g: View, o: ContrastiveOpts): GPUBuffer {
  const nblk = Math.ceil(B / RBK);
  const out = rt.alloc(B * B * 4, `contrastive dlogits ${shapeStr([B, B])}`);
  const p = params(B, nblk, x.offset, g.offset, o);
  rt.dispatch(KERNELS.backward, p, [x.storage.handle as GPUBuffer, stats, g.storage.handle as GPUBuffer, out], grid1D(B * B, 64, rt.limits.maxComputeWorkgroupsPerDimension), shapeStr([B, B]));
  return out;
}
