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

type Entry = 'forward' | 'delta' | 'dq' | 'dkdv' | 'forward_direct' | 'delta_direct' | 'dq_direct' | 'dkdv_direct';

const BINDINGS: Record<Entry, Kernel['bindings']> = {
  forward: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  delta: ['uniform', 'read', 'read', 'rw'],
  dq: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'],
  dkdv: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  forward_direct: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  delta_direct: ['uniform', 'read', 'read', 'rw'],
  dq_direct: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'],
  dkdv_direct: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
};

const BLOCK_TOKENS = [
  ...['INIT', 'LOADQ', 'KEYS', 'QK', 'SOFTMAX', 'PV', 'STORE'].map((t) => `FD_${t}`),
  ...['INIT', 'LOAD', 'KEYS', 'SDP', 'DS', 'ACC', 'STORE'].map((t) => `DQ_${t}`),
  ...['INIT', 'LOAD', 'QUERIES', 'SDP', 'DS', 'ACC', 'STORE'].map((t) => `KV_${t}`),
];

/** Which kernel family runs: 'staged' (workgroup-memory tiles, for GPUs) or 'direct' (register-blocked subgroup broadcasts, for CPU-emulated adapters). */
export type AttnVariant = 'auto' | 'staged' | 'direct';

/** Tunables, overridable for benchmarks and tests (`setAttentionTuning`). */
export interface AttnTuning {
  variant: AttnVariant;
  /** staged: rows of the other operand per workgroup-memory block (multiple of 4); 0 = automatic */
  blk: number;
  /** staged: invocations per workgroup; 0 = automatic */
  wg: number;
  /** direct: [rows per lane R, other-operand rows per step KB] of each kernel */
  fwd: [number, number];
  dq: [number, number];
  dkdv: [number, number];
}

let tuning: AttnTuning = { variant: 'auto', blk: 0, wg: 0, fwd: [4, 16], dq: [4, 16], dkdv: [2, 8] };

export function setAttentionTuning(t: Partial<AttnTuning>): AttnTuning {
  const prev = tuning;
  tuning = { ...tuning, ...t };
  return prev;
}

const CPU_ADAPTER = /llvmpipe|lavapipe|swiftshader|software/i;

/** The fixed subgroup size of the device, or 0 when it has no subgroups or a variable size. */
function subgroupSize(rt: GpuRuntime): number {
  if (!rt.device.features.has('subgroups' as GPUFeatureName)) return 0;
  const ai = (rt.device as GPUDevice & { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  const min = ai?.subgroupMinSize ?? 0;
  return min > 0 && min === ai?.subgroupMaxSize && min >= 4 && min <= 64 ? min : 0;
}

/** The subgroup size the direct kernels run with for this head dim, or 0 for the staged kernels. */
export function directSubgroup(rt: GpuRuntime, DH: number): number {
  if (tuning.variant === 'staged') return 0;
  const sg = subgroupSize(rt);
  if (!sg || DH % sg !== 0) return 0;
  if (tuning.variant === 'direct') return sg;
  const i = rt.info;
  return CPU_ADAPTER.test(`${i.vendor} ${i.architecture} ${i.description} ${i.device}`) ? sg : 0;
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

function kernel(entry: Entry, DH: number, wg: number, blk: number, maskIn: boolean, drop: boolean, R = 1): Kernel {
  const mask = entry.endsWith('_direct') ? false : maskIn; // direct kernels take the mask as a run-time flag
  return {
    name: `attention_${entry}`,
    key: `attention:${entry}:${DH}:${wg}:${blk}:${mask}:${drop}:${R}`,
    bindings: BINDINGS[entry],
    entryPoint: entry,
    code: () =>
      wgsl(entry.endsWith('_direct') ? template : template.slice(0, template.indexOf('//#direct')), {
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
        ...Object.fromEntries(BLOCK_TOKENS.map((t) => [t, ''])),
        ...(entry === 'forward_direct' ? genForwardDirect(DH, wg, R, blk, drop) : {}),
        ...(entry === 'dq_direct' ? genDqDirect(DH, wg, R, blk, drop) : {}),
        ...(entry === 'dkdv_direct' ? genDkdvDirect(DH, wg, R, blk, drop) : {}),
      }),
  };
}

// ---- code generation for the direct kernels: per-d statements unrolled, names r = row, c = key --

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lines = (xs: string[], indent: string) => xs.map((x) => indent + x).join('\n');

/** Keep flags of keys j0 + c (c < KB): past Tk or masked -> false; mask read one element per lane. */
function genKeys(KB: number, SG: number): string[] {
  // the mask is a run-time flag here (P.mflag): one pipeline serves masked and unmasked calls
  const out: string[] = [];
  for (const u of range(Math.ceil(KB / SG))) {
    out.push(`let mk${u} = select(1, Mask[P.m_off + b * P.m_bs + min(j0 + ${u * SG}u + lid, P.Tk - 1u)], P.mflag != 0u);`);
  }
  for (const c of range(KB)) {
    out.push(`let jc${c} = min(j0 + ${c}u, P.Tk - 1u);`);
    out.push(`let keep${c} = j0 + ${c}u < P.Tk && subgroupBroadcast(mk${Math.floor(c / SG)}, ${c % SG}u) != 0;`);
  }
  return out;
}

function genForwardDirect(DH: number, SG: number, R: number, KB: number, drop: boolean): Record<string, string> {
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
  const keys = genKeys(KB, SG);
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

/** `acc = fma(a0, b0, fma(a1, b1, ... acc))` */
const fmaChain = (acc: string, terms: [string, string][]) => terms.reduce((e, [a, b]) => `fma(${a}, ${b}, ${e})`, acc);

function genDqDirect(DH: number, SG: number, R: number, KB: number, drop: boolean): Record<string, string> {
  const rs = range(R);
  const cs = range(KB);
  const init: string[] = [];
  for (const r of rs) {
    init.push(`let ic${r} = min(i0 + ${r * SG}u, P.Tq - 1u);`);
    init.push(`let qb${r} = P.q_off + b * P.q_bs + ic${r} * P.q_rs + h * DH;`, `let gb${r} = P.g_off + b * P.g_bs + ic${r} * P.g_rs + h * DH;`);
    init.push(`let row${r} = bh * P.Tq + ic${r};`, `let lse${r} = Stats[row${r}];`, `let dlt${r} = Stats[P.stat_n + row${r}];`);
    init.push(`var q${r}: array<f32, DH>;`, `var g${r}: array<f32, DH>;`, `var dq${r}: array<f32, DH>;`);
  }
  const load = rs.flatMap((r) => [`q${r}[d] = Q[qb${r} + d] * P.scale;`, `g${r}[d] = G[gb${r} + d];`, `dq${r}[d] = 0.0;`]);
  const keys = genKeys(KB, SG);
  for (const c of cs) keys.push(`let kr${c} = kbase + jc${c} * P.k_rs + lid;`, `let vr${c} = vbase + jc${c} * P.v_rs + lid;`);
  for (const r of rs) for (const c of cs) keys.push(`var s${r}_${c} = 0.0;`, `var dp${r}_${c} = 0.0;`);
  const sdp = cs.flatMap((c) => [`let kl${c} = K[kr${c} + d0];`, `let vl${c} = V[vr${c} + d0];`]);
  for (const t of range(SG)) {
    const body = [
      ...rs.flatMap((r) => [`let qa${r} = q${r}[d0 + ${t}u];`, `let ga${r} = g${r}[d0 + ${t}u];`]),
      ...cs.flatMap((c) => [`let kb${c} = subgroupBroadcast(kl${c}, ${t}u);`, `let vb${c} = subgroupBroadcast(vl${c}, ${t}u);`]),
    ];
    for (const r of rs) for (const c of cs) body.push(`s${r}_${c} = fma(qa${r}, kb${c}, s${r}_${c});`, `dp${r}_${c} = fma(ga${r}, vb${c}, dp${r}_${c});`);
    sdp.push(`{ ${body.join(' ')} }`);
  }
  const ds: string[] = [];
  for (const r of rs) {
    for (const c of cs) ds.push(`var z${r}_${c} = 1.0;`);
    if (drop) for (const c4 of range(KB / 4)) ds.push(`{ let z = drop4(row${r}, j0 / 4u + ${c4}u); ${range(4).map((t) => `z${r}_${c4 * 4 + t} = z[${t}];`).join(' ')} }`);
    for (const c of cs) ds.push(`let ds${r}_${c} = select(0.0, exp(s${r}_${c} - lse${r}), keep${c}) * (dp${r}_${c} * z${r}_${c} - dlt${r}) * P.scale;`);
  }
  const acc = cs.map((c) => `let kl${c} = K[kr${c} + d0];`);
  for (const t of range(SG)) {
    const body = cs.map((c) => `let kb${c} = subgroupBroadcast(kl${c}, ${t}u);`);
    for (const r of rs) body.push(`dq${r}[d0 + ${t}u] = ${fmaChain(`dq${r}[d0 + ${t}u]`, cs.map((c) => [`ds${r}_${c}`, `kb${c}`]))};`);
    acc.push(`{ ${body.join(' ')} }`);
  }
  const store = rs.map(
    (r) => `{ let i = i0 + ${r * SG}u; if (i < P.Tq) { let ob = b * P.o_bs + i * P.o_rs + h * DH; for (var d = 0u; d < DH; d++) { DA[ob + d] = dq${r}[d]; } } }`,
  );
  return {
    DQ_INIT: lines(init, '  '),
    DQ_LOAD: lines(load, '    '),
    DQ_KEYS: lines(keys, '    '),
    DQ_SDP: lines(sdp, '      '),
    DQ_DS: lines(ds, '    '),
    DQ_ACC: lines(acc, '      '),
    DQ_STORE: lines(store, '  '),
  };
}

function genDkdvDirect(DH: number, SG: number, R: number, KB: number, drop: boolean): Record<string, string> {
  const rs = range(R);
  const cs = range(KB);
  const init: string[] = [];
  for (const r of rs) {
    init.push(`let jc${r} = min(j0 + ${r}u, P.Tk - 1u);`);
    init.push(`let kb${r} = P.k_off + b * P.k_bs + jc${r} * P.k_rs + h * DH;`, `let vb${r} = P.v_off + b * P.v_bs + jc${r} * P.v_rs + h * DH;`);
    init.push(`var keepk${r} = j0 + ${r}u < P.Tk;`);
    init.push(`if (P.mflag != 0u) { keepk${r} = keepk${r} && Mask[P.m_off + b * P.m_bs + jc${r}] != 0; }`);
    init.push(`var k${r}: array<f32, DH>;`, `var v${r}: array<f32, DH>;`, `var dk${r}: array<f32, DH>;`, `var dv${r}: array<f32, DH>;`);
  }
  const load = rs.flatMap((r) => [`k${r}[d] = K[kb${r} + d] * P.scale;`, `v${r}[d] = V[vb${r} + d];`, `dk${r}[d] = 0.0;`, `dv${r}[d] = 0.0;`]);
  const qs: string[] = [];
  for (const u of range(Math.ceil(KB / SG))) {
    qs.push(`let sr${u} = bh * P.Tq + min(i0 + ${u * SG}u + lid, P.Tq - 1u);`);
    qs.push(`let sl${u} = Stats[sr${u}];`, `let sd${u} = Stats[P.stat_n + sr${u}];`);
  }
  for (const c of cs) {
    qs.push(`let ic${c} = min(i0 + ${c}u, P.Tq - 1u);`);
    qs.push(`let qr${c} = qbase + ic${c} * P.q_rs + lid;`, `let gr${c} = gbase + ic${c} * P.g_rs + lid;`);
    qs.push(`let keepq${c} = i0 + ${c}u < P.Tq;`);
    qs.push(`let lse${c} = subgroupBroadcast(sl${Math.floor(c / SG)}, ${c % SG}u);`, `let dlt${c} = subgroupBroadcast(sd${Math.floor(c / SG)}, ${c % SG}u);`);
  }
  for (const r of rs) for (const c of cs) qs.push(`var s${r}_${c} = 0.0;`, `var dp${r}_${c} = 0.0;`);
  const sdp = cs.flatMap((c) => [`let ql${c} = Q[qr${c} + d0];`, `let gl${c} = G[gr${c} + d0];`]);
  for (const t of range(SG)) {
    const body = [
      ...rs.flatMap((r) => [`let ka${r} = k${r}[d0 + ${t}u];`, `let va${r} = v${r}[d0 + ${t}u];`]),
      ...cs.flatMap((c) => [`let qb${c} = subgroupBroadcast(ql${c}, ${t}u);`, `let gb${c} = subgroupBroadcast(gl${c}, ${t}u);`]),
    ];
    for (const r of rs) for (const c of cs) body.push(`s${r}_${c} = fma(ka${r}, qb${c}, s${r}_${c});`, `dp${r}_${c} = fma(va${r}, gb${c}, dp${r}_${c});`);
    sdp.push(`{ ${body.join(' ')} }`);
  }
  const ds: string[] = [];
  for (const c of cs) {
    for (const r of rs) ds.push(`var z${r}_${c} = 1.0;`);
    if (drop) {
      ds.push(`{ let row = bh * P.Tq + ic${c};`);
      if (R === 4) ds.push(`  let z = drop4(row, j0 / 4u); ${rs.map((r) => `z${r}_${c} = z[${r}];`).join(' ')}`);
      else for (const r of rs) ds.push(`  z${r}_${c} = drop4(row, (j0 + ${r}u) / 4u)[(j0 + ${r}u) % 4u];`);
      ds.push(`}`);
    }
    for (const r of rs) {
      ds.push(`let p${r}_${c} = select(0.0, exp(s${r}_${c} - lse${c}), keepk${r} && keepq${c});`);
      ds.push(`let pz${r}_${c} = p${r}_${c} * z${r}_${c};`, `let ds${r}_${c} = p${r}_${c} * (dp${r}_${c} * z${r}_${c} - dlt${c}) * P.scale;`);
    }
  }
  const acc = cs.flatMap((c) => [`let ql${c} = Q[qr${c} + d0];`, `let gl${c} = G[gr${c} + d0];`]);
  for (const t of range(SG)) {
    const body = cs.flatMap((c) => [`let qb${c} = subgroupBroadcast(ql${c}, ${t}u);`, `let gb${c} = subgroupBroadcast(gl${c}, ${t}u);`]);
    for (const r of rs) {
      body.push(`dk${r}[d0 + ${t}u] = ${fmaChain(`dk${r}[d0 + ${t}u]`, cs.map((c) => [`ds${r}_${c}`, `qb${c}`]))};`);
      body.push(`dv${r}[d0 + ${t}u] = ${fmaChain(`dv${r}[d0 + ${t}u]`, cs.map((c) => [`pz${r}_${c}`, `gb${c}`]))};`);
    }
    acc.push(`{ ${body.join(' ')} }`);
  }
  const store = rs.map(
    (r) =>
      `{ let j = j0 + ${r}u; if (j < P.Tk) { let ob = b * P.o_bs + j * P.o_rs + h * DH; for (var d = 0u; d < DH; d++) { DA[ob + d] = dk${r}[d]; DB[ob + d] = dv${r}[d]; } } }`,
  );
  return {
    KV_INIT: lines(init, '  '),
    KV_LOAD: lines(load, '    '),
    KV_QUERIES: lines(qs, '    '),
    KV_SDP: lines(sdp, '      '),
    KV_DS: lines(ds, '    '),
    KV_ACC: lines(acc, '      '),
    KV_STORE: lines(store, '  '),
  };
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
    .u32(outRows * D, D, g.B * g.H * g.Tq, g.DH, mask ? 1 : 0);
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
  const sg = directSubgroup(rt, g.DH);
  if (sg) {
    const [R, kb] = tuning.fwd;
    rt.dispatch(kernel('forward_direct', g.DH, sg, kb, !!mask, !!drop, R), p, bufs, [Math.ceil(g.Tq / (sg * R)), g.B * g.H], describe(g, !!mask, !!drop));
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
  const sg = directSubgroup(rt, g.DH);
  if (sg) {
    const maxWg = rt.limits.maxComputeWorkgroupsPerDimension;
    if (g.Tq > 0) {
      const p = params(g, q, k, v, mask, grad, drop, g.Tq);
      rt.dispatch(kernel('delta_direct', g.DH, sg, 4, false, false), p, [buf(grad), o, stats], grid1D(g.B * g.H * g.Tq, sg, maxWg), desc);
    }
    if (dq) {
      const [R, kb] = tuning.dq;
      const p = params(g, q, k, v, mask, grad, drop, g.Tq);
      rt.dispatch(kernel('dq_direct', g.DH, sg, kb, !!mask, !!drop, R), p, [buf(q), buf(k), buf(v), mbuf, buf(grad), stats, dq], [Math.ceil(g.Tq / (sg * R)), g.B * g.H], desc);
    }
    if (dk && dv) {
      const [R, kb] = tuning.dkdv;
      const p = params(g, q, k, v, mask, grad, drop, g.Tk);
      rt.dispatch(kernel('dkdv_direct', g.DH, sg, kb, !!mask, !!drop, R), p, [buf(q), buf(k), buf(v), mbuf, buf(grad), stats, dk, dv], [Math.ceil(g.Tk / (sg * R)), g.B * g.H], desc);
    }
    return { dq, dk, dv };
  }
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
