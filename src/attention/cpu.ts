/**
 * CPU reference of the fused cross-attention (plain TypeScript, float64 arithmetic): the same
 * math, masking, dropout stream and stored log-sum-exp as wgsl/attention.wgsl, so it is both
 * the CPU backend's implementation (src/backend/cpu-routines.ts reads the views) and the oracle
 * the GPU kernels are tested against.
 */
import { philox4x32 } from '../backend/philox.js';
import type { AttnDropout, AttnGeometry } from '../backend/webgpu/attention.js';
import { keepThreshold } from '../backend/webgpu/attention.js';

/** Dropout multiplier (0 or 1/keep) of pair (row = (b*H + h)*Tq + i, key j): the kernel's stream. */
export class DropStream {
  private readonly thr: number;
  private readonly inv: number;
  private readonly k0: number;
  private readonly k1: number;
  private readonly tk4: number;
  private cacheKey = -1;
  private cache: [number, number, number, number] = [0, 0, 0, 0];
  constructor(
    private readonly d: AttnDropout,
    Tk: number,
  ) {
    const keep = 1 - d.p;
    this.thr = keepThreshold(keep);
    this.inv = 1 / keep;
    this.k0 = d.seed >>> 0;
    this.k1 = Math.floor(d.seed / 4294967296) >>> 0;
    this.tk4 = Math.ceil(Tk / 4);
  }
  z(row: number, j: number): number {
    const n = row * this.tk4 + (j >> 2);
    if (n !== this.cacheKey) {
      const c = this.d.counter + n;
      this.cache = philox4x32(c >>> 0, Math.floor(c / 4294967296) >>> 0, 0, 0, this.k0, this.k1);
      this.cacheKey = n;
    }
    return this.cache[j & 3] >>> 8 < this.thr ? this.inv : 0;
  }
}

export interface CpuForward {
  out: Float64Array;
  /** [B*H*Tq] log-sum-exp of the scaled, masked scores; -Infinity for a row with no key */
  lse: Float64Array;
}

export function attentionForwardCpu(g: AttnGeometry, q: Float64Array, k: Float64Array, v: Float64Array, keep: Uint8Array, drop: AttnDropout | null): CpuForward {
  const { B, H, Tq, Tk, DH, scale } = g;
  const D = H * DH;
  const out = new Float64Array(B * Tq * D);
  const lse = new Float64Array(B * H * Tq);
  const s = new Float64Array(Tk);
  const ds = drop ? new DropStream(drop, Tk) : null;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Tq; i++) {
        const row = (b * H + h) * Tq + i;
        const qo = (b * Tq + i) * D + h * DH;
        let m = -Infinity;
        for (let j = 0; j < Tk; j++) {
          if (!keep[b * Tk + j]) continue;
          const ko = (b * Tk + j) * D + h * DH;
          let acc = 0;
          for (let d = 0; d < DH; d++) acc += q[qo + d] * k[ko + d];
          s[j] = acc * scale;
          if (s[j] > m) m = s[j];
        }
        if (m === -Infinity) {
          lse[row] = -Infinity;
          continue; // no key: output row stays 0
        }
        let l = 0;
        for (let j = 0; j < Tk; j++) if (keep[b * Tk + j]) l += Math.exp(s[j] - m);
        lse[row] = m + Math.log(l);
        for (let j = 0; j < Tk; j++) {
          if (!keep[b * Tk + j]) continue;
          let p = Math.exp(s[j] - m) / l;
          if (ds) p *= ds.z(row, j);
          if (p === 0) continue;
          const vo = (b * Tk + j) * D + h * DH;
          for (let d = 0; d < DH; d++) out[qo + d] += p * v[vo + d];
        }
      }
    }
  }
  return { out, lse };
}

export function attentionBackwardCpu(
  g: AttnGeometry,
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  keep: Uint8Array,
  drop: AttnDropout | null,
  out: Float64Array,
  lse: Float64Array,
  dout: Float64Array,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, H, Tq, Tk, DH, scale } = g;
  const D = H * DH;
  const dq = new Float64Array(B * Tq * D);
  const dk = new Float64Array(B * Tk * D);
  const dv = new Float64Array(B * Tk * D);
  const ds = drop ? new DropStream(drop, Tk) : null;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Tq; i++) {
        const row = (b * H + h) * Tq + i;
        if (lse[row] === -Infinity) continue;
        const qo = (b * Tq + i) * D + h * DH;
        let delta = 0;
        for (let d = 0; d < DH; d++) delta += dout[qo + d] * out[qo + d];
        for (let j = 0; j < Tk; j++) {
          if (!keep[b * Tk + j]) continue;
          const ko = (b * Tk + j) * D + h * DH;
          let s = 0;
          let dp = 0;
          for (let d = 0; d < DH; d++) {
            s += q[qo + d] * k[ko + d];
            dp += dout[qo + d] * v[ko + d];
          }
          const p = Math.exp(s * scale - lse[row]);
          const z = ds ? ds.z(row, j) : 1;
          const dsc = p * (dp * z - delta) * scale;
          const pz = p * z;
          for (let d = 0; d < DH; d++) {
            dv[ko + d] += pz * dout[qo + d];
            dk[ko + d] += dsc * q[qo + d];
            dq[qo + d] += dsc * k[ko + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
