/**
 * GPU fused multi-head cross-attention (wgsl/attention.wgsl): forward with online softmax, and the
 * flash-attention-2 backward (Delta precompute, dK/dV parallel over key blocks, dQ parallel over
 * query blocks). Operands are 3-D [B, T, D] views whose last dimension is contiguous.
 */
import template from '../../wgsl/attention.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../gpu/runtime.js';
import type { View } from '../backend/backend.js';
import { Params, wgsl } from './source.js';
import { GpuError, shapeStr } from '../gpu/errors.js';

export interface AttnGeometry {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  /** head dim */
  DH: number;
  scale: number;
}

export interface AttnDropout {
  p: number;
  seed: number;
  counter: number;
}

type Entry = 'forward' | 'delta' | 'dq' | 'dkdv' | 'forward_direct';

const BINDINGS: Record<Entry, Kernel['bindings']> = {
  forward: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  delta: ['uniform', 'read', 'read', 'rw'],
  dq: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'],
  dkdv: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  forward_direct: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
};

/** Tunables, overridable for benchmarks and tests (`setAttentionTuning`). */
export interface AttnTuning {
  /** rows of the other operand staged per block (multiple of 4); 0 = automatic */
  blk: number;
  /** invocations per workgroup (multiple of 4); 0 = automatic */
  wg: number;
  variant: 'staged' | 'direct';
  rows: number;
  kb: number;
}

let tuning: AttnTuning = { blk: 0, wg: 0, variant: 'staged', rows: 4, kb: 8 };

export function setAttentionTuning(t: Partial<AttnTuning>): AttnTuning {
  const prev = tuning;
  tuning = { ...tuning, ...t };
  return prev;
}

/** Rows per workgroup for T rows: the size with the least padded work, preferring larger groups. */
export function pickWorkgroup(T: number): number {
  if (tuning.wg) return tuning.wg;
  let best = 64;
  let bestCost = Infinity;
  for (const wg of [64, 32, 16, 8]) {
    // padded rows, plus a per-workgroup cost for staging each block (one block load feeds wg rows)
    const cost = Math.ceil(T / wg) * (wg + 6);
    if (cost < bestCost - 1e-9) {
      bestCost = cost;
      best = wg;
    }
  }
  return best;
}

function pickBlock(DH: number, wg: number, entry: Entry, drop: boolean, limitBytes: number): number {
  let blk = tuning.blk || (DH > 64 ? 16 : 32);
  const bytes = (b: number) => 4 * (2 * b * DH + 2 * b + (drop && entry === 'dkdv' ? b * wg : 4));
  while (blk > 4 && bytes(blk) > limitBytes) blk -= 4;
  return blk;
}

function kernel(entry: Entry, DH: number, wg: number, blk: number, mask: boolean, drop: boolean, R = 1): Kernel {
  return {
    name: `attention_${entry}`,
    key: `attention:${entry}:${DH}:${wg}:${blk}:${mask}:${drop}:${R}`,
    bindings: BINDINGS[entry],
    entryPoint: entry,
    code: () =>
      wgsl(template, {
        DH,
        WG: wg,
        BLK: entry.endsWith('_direct') ? 4 : blk,
        MASK: String(mask),
        DROP: String(drop),
        SZ: drop && entry === 'dkdv' ? blk * wg : 4,
        R,
        KB: entry.endsWith('_direct') ? blk : 4,
        SG: entry.endsWith('_direct') ? wg : 4,
        ENABLE: entry.endsWith('_direct') ? 'enable subgroups;' : '',
        ...(entry === 'forward_direct' ? genForwardDirect(DH, wg, R, blk, mask, drop) : Object.fromEntries(['FD_INIT', 'FD_LOADQ', 'FD_KEYS', 'FD_QK', 'FD_SOFTMAX', 'FD_PV', 'FD_STORE'].map((t) => [t, '']))),
      }),
  };
}

// ---- code generation for the direct kernels: per-d statements unrolled, names r = row, c = key --

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lines = (xs: string[], indent: string) => xs.map((x) => indent + x).join('\n');

/** Keep flags of keys j0 + c (c < KB): past Tk or masked -> false; mask read one element per lane. */
function genKeys(KB: number, SG: number, mask: boolean): string[] {
  const out: string[] = [];
  if (mask) {
    for (const u of range(Math.ceil(KB / SG))) out.push(`let mk${u} = Mask[P.m_off + b * P.m_bs + min(j0 + ${u * SG}u + lid, P.Tk - 1u)];`);
  }
  for (const c of range(KB)) {
    out.push(`let jc${c} = min(j0 + ${c}u, P.Tk - 1u);`);
    out.push(`let keep${c} = j0 + ${c}u < P.Tk${mask ? ` && subgroupBroadcast(mk${Math.floor(c / SG)}, ${c % SG}u) != 0` : ''};`);
  }
  return out;
}

function genForwardDirect(DH: number, SG: number, R: number, KB: number, mask: boolean, drop: boolean): Record<string, string> {
  const rs = range(R);
  const cs = range(KB);
  const ts = range(SG);
  const init: string[] = [];
  for (const r of rs) {
    init.push(`let ic${r} = min(i0 + ${r * SG}u, P.Tq - 1u);`);
    init.push(`let qb${r} = P.q_off + b * P.q_bs + ic${r} * P.q_rs + h * DH;`);
    init.push(`let row${r} = bh * P.Tq + ic${r};`);
    init.push(`var m${r} = NEG;`, `var l${r} = 0.0;`);
    init.push(`var q${r}: array<f32, DH>;`, `var o${r}: array<f32, DH>;`);
  }
  const loadq = rs.flatMap((r) => [`q${r}[d] = Q[qb${r} + d] * P.scale;`, `o${r}[d] = 0.0;`]);
  const keys = genKeys(KB, SG, mask);
  for (const c of cs) keys.push(`let kr${c} = kbase + jc${c} * P.k_rs + lid;`, `let vr${c} = vbase + jc${c} * P.v_rs + lid;`);
  for (const r of rs) for (const c of cs) keys.push(`var s${r}_${c} = 0.0;`);
  const qk = cs.map((c) => `let kl${c} = K[kr${c} + d0];`);
  for (const t of ts) {
    const body = [...rs.map((r) => `let qa${r} = q${r}[d0 + ${t}u];`), ...cs.map((c) => `let kb${c} = subgroupBroadcast(kl${c}, ${t}u);`)];
    for (const r of rs) for (const c of cs) body.push(`s${r}_${c} = fma(qa${r}, kb${c}, s${r}_${c});`);
    qk.push(`{ ${body.join(' ')} }`);
  }
  const sm: string[] = [];
  for (const r of rs) {
    sm.push(`var mb${r} = m${r};`);
    for (const c of cs) sm.push(`mb${r} = max(mb${r}, select(NEG, s${r}_${c}, keep${c}));`);
    sm.push(`let a${r} = exp(m${r} - mb${r});`);
    for (const c of cs) sm.push(`var p${r}_${c} = select(0.0, exp(s${r}_${c} - mb${r}), keep${c});`);
    sm.push(`l${r} = l${r} * a${r} + (${cs.map((c) => `p${r}_${c}`).join(' + ')});`);
    sm.push(`m${r} = mb${r};`);
    if (drop) {
      for (const c4 of range(KB / 4)) {
        sm.push(`{ let z = drop4(row${r}, j0 / 4u + ${c4}u); ${range(4).map((t) => `p${r}_${c4 * 4 + t} *= z[${t}];`).join(' ')} }`);
      }
    }
  }
  const pv = cs.map((c) => `let vl${c} = V[vr${c} + d0];`);
  for (const t of ts) {
    const body = cs.map((c) => `let vb${c} = subgroupBroadcast(vl${c}, ${t}u);`);
    for (const r of rs) {
      let e = `o${r}[d0 + ${t}u] * a${r}`;
      for (const c of cs) e = `fma(p${r}_${c}, vb${c}, ${e})`;
      body.push(`o${r}[d0 + ${t}u] = ${e};`);
    }
    pv.push(`{ ${body.join(' ')} }`);
  }
  const store: string[] = [];
  for (const r of rs) {
    store.push(`{ let i = i0 + ${r * SG}u; if (i < P.Tq) {`);
    store.push(`  let ob = b * P.o_bs + i * P.o_rs + h * DH;`, `  let inv = select(0.0, 1.0 / l${r}, l${r} > 0.0);`);
    store.push(`  for (var d = 0u; d < DH; d++) { O[ob + d] = o${r}[d] * inv; }`);
    store.push(`  Lse[row${r}] = select(NEG, m${r} + log(l${r}), l${r} > 0.0);`, `} }`);
  }
  return {
    FD_INIT: lines(init, '  '),
    FD_LOADQ: lines(loadq, '    '),
    FD_KEYS: lines(keys, '    '),
    FD_QK: lines(qk, '      '),
    FD_SOFTMAX: lines(sm, '    '),
    FD_PV: lines(pv, '      '),
    FD_STORE: lines(store, '  '),
  };
}

/**
 * A Philox draw x keeps its element when (x >>> 8) < keepThreshold(keep): exactly the 24-bit
 * uniform ((x >>> 8) + 0.5) / 2^24 < keep, evaluated in integers so every backend agrees.
 */
export function keepThreshold(keep: number): number {
  return Math.min(16777216, Math.max(0, Math.ceil(keep * 16777216 - 0.5)));
}

function buf(v: View): GPUBuffer {
  return v.storage.handle as GPUBuffer;
}

function params(
  g: AttnGeometry,
  q: View,
  k: View,
  v: View,
  mask: View | null,
  grad: View | null,
  drop: AttnDropout | null,
  outRows: number,
): ArrayBuffer {
  const keep = drop ? 1 - drop.p : 1;
  const thr = keepThreshold(keep);
  const D = g.H * g.DH;
  const p = new Params()
    .u32(g.H, g.Tq, g.Tk, Math.ceil(g.Tk / 4))
    .u32(q.offset, q.strides[0], q.strides[1], mask?.offset ?? 0)
    .u32(k.offset, k.strides[0], k.strides[1], mask?.strides[0] ?? 0)
    .u32(v.offset, v.strides[0], v.strides[1], grad?.offset ?? 0)
    .u32(grad?.strides[0] ?? 0, grad?.strides[1] ?? 0)
    .u32(drop ? drop.seed >>> 0 : 0, drop ? Math.floor(drop.seed / 4294967296) >>> 0 : 0)
    .u32(drop ? drop.counter >>> 0 : 0, drop ? Math.floor(drop.counter / 4294967296) >>> 0 : 0)
    .f32(g.scale).u32(thr).f32(1 / keep)
    .u32(outRows * D, D, g.B * g.H * g.Tq);
  return p.build();
}

function describe(g: AttnGeometry, mask: boolean, drop: boolean): string {
  return `q ${shapeStr([g.B, g.Tq, g.H * g.DH])} kv ${shapeStr([g.B, g.Tk, g.H * g.DH])} heads=${g.H}${mask ? ' masked' : ''}${drop ? ' dropout' : ''}`;
}

function checkGrid(rt: GpuRuntime, g: AttnGeometry): void {
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  if (g.B * g.H > max) throw new GpuError(`attention: B×heads = ${g.B * g.H} exceeds ${max} workgroups per dimension`);
}

/**
 * Forward. Returns the output [B, Tq, H*DH] (contiguous) and a stats buffer of 2·B·H·Tq floats
 * whose first half is the per-row log-sum-exp (the second half is the backward's scratch).
 */
export function runAttentionForward(
  rt: GpuRuntime,
  g: AttnGeometry,
  q: View,
  k: View,
  v: View,
  mask: View | null,
  drop: AttnDropout | null,
): { out: GPUBuffer; stats: GPUBuffer } {
  checkGrid(rt, g);
  const D = g.H * g.DH;
  const out = rt.alloc(g.B * g.Tq * D * 4, `attention output ${shapeStr([g.B, g.Tq, D])}`);
  const stats = rt.alloc(2 * g.B * g.H * g.Tq * 4, 'attention log-sum-exp');
  if (g.B * g.Tq * D === 0) return { out, stats };
  const p = params(g, q, k, v, mask, null, drop, g.Tq);
  const bufs = [buf(q), buf(k), buf(v), mask ? buf(mask) : buf(q), out, stats];
  if (tuning.variant === 'direct') {
    const wg = 8;
    const R = tuning.rows;
    const kb = tuning.kb;
    rt.dispatch(kernel('forward_direct', g.DH, wg, kb, !!mask, !!drop, R), p, bufs, [Math.ceil(g.Tq / (wg * R)), g.B * g.H], describe(g, !!mask, !!drop));
    return { out, stats };
  }
  const wg = pickWorkgroup(g.Tq);
  const blk = pickBlock(g.DH, wg, 'forward', !!drop, rt.limits.maxComputeWorkgroupStorageSize);
  const kern = kernel('forward', g.DH, wg, blk, !!mask, !!drop);
  rt.dispatch(kern, p, bufs, [Math.ceil(g.Tq / wg), g.B * g.H], describe(g, !!mask, !!drop));
  return { out, stats };
}

/**
 * Backward. `o` is the forward output (contiguous), `stats` its stats buffer, `grad` dO ([B, Tq, D]
 * view, last dim contiguous). Returns dQ, dK, dV buffers (contiguous) for those asked for.
 */
export function runAttentionBackward(
  rt: GpuRuntime,
  g: AttnGeometry,
  q: View,
  k: View,
  v: View,
  mask: View | null,
  drop: AttnDropout | null,
  o: GPUBuffer,
  stats: GPUBuffer,
  grad: View,
  need: { q: boolean; kv: boolean },
): { dq: GPUBuffer | null; dk: GPUBuffer | null; dv: GPUBuffer | null } {
  checkGrid(rt, g);
  const D = g.H * g.DH;
  const dq = need.q ? rt.alloc(g.B * g.Tq * D * 4, `attention dQ ${shapeStr([g.B, g.Tq, D])}`) : null;
  const dk = need.kv ? rt.alloc(g.B * g.Tk * D * 4, `attention dK ${shapeStr([g.B, g.Tk, D])}`) : null;
  const dv = need.kv ? rt.alloc(g.B * g.Tk * D * 4, `attention dV ${shapeStr([g.B, g.Tk, D])}`) : null;
  const desc = describe(g, !!mask, !!drop);
  const limit = rt.limits.maxComputeWorkgroupStorageSize;
  const mbuf = mask ? buf(mask) : buf(q);
  if (g.B * D === 0) return { dq, dk, dv };
  // Delta = rowsum(dO ∘ O) into the second half of stats
  {
    const wg = 64;
    const kern = kernel('delta', g.DH, wg, 4, false, false);
    const p = params(g, q, k, v, mask, grad, drop, g.Tq);
    rt.dispatch(kern, p, [buf(grad), o, stats], grid1D(g.B * g.H * g.Tq, wg, rt.limits.maxComputeWorkgroupsPerDimension), desc);
  }
  if (dq) {
    const wg = pickWorkgroup(g.Tq);
    const blk = pickBlock(g.DH, wg, 'dq', !!drop, limit);
    const p = params(g, q, k, v, mask, grad, drop, g.Tq);
    rt.dispatch(kernel('dq', g.DH, wg, blk, !!mask, !!drop), p, [buf(q), buf(k), buf(v), mbuf, buf(grad), stats, dq], [Math.ceil(g.Tq / wg), g.B * g.H], desc);
  }
  if (dk && dv) {
    const wg = pickWorkgroup(g.Tk);
    const blk = pickBlock(g.DH, wg, 'dkdv', !!drop, limit);
    const p = params(g, q, k, v, mask, grad, drop, g.Tk);
    rt.dispatch(kernel('dkdv', g.DH, wg, blk, !!mask, !!drop), p, [buf(q), buf(k), buf(v), mbuf, buf(grad), stats, dk, dv], [Math.ceil(g.Tk / wg), g.B * g.H], desc);
  }
  return { dq, dk, dv };
}
