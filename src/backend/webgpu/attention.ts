/**
 * GPU fused multi-head cross-attention (wgsl/attention.wgsl): forward with online softmax, and the
 * flash-attention-2 backward (Delta precompute, dK/dV parallel over key blocks, dQ parallel over
 * query blocks). Operands are 3-D [B, T, D] views whose last dimension is contiguous.
 */
import template from '../../../wgsl/attention.wgsl';
import { grid1D, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import type { View } from '../backend.js';
import { Params, wgsl } from './source.js';
import { GpuError, shapeStr } from '../../gpu/errors.js';

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

type Entry = 'forward' | 'delta' | 'dq' | 'dkdv' | 'forward_direct' | 'delta_direct' | 'dq_direct' | 'dkdv_direct' | 'bwd_direct';

const BINDINGS: Record<Entry, Kernel['bindings']> = {
  forward: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  delta: ['uniform', 'read', 'read', 'rw'],
  dq: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'],
  dkdv: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  forward_direct: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  delta_direct: ['uniform', 'read', 'read', 'rw'],
  dq_direct: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw'],
  dkdv_direct: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  bwd_direct: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'rw', 'rw', 'rw'],
};

/** Tokens of the direct kernels' skeleton (wgsl/attention.wgsl); empty where unused (delta_direct). */
const SKELETON: Record<string, string> = {
  ENTRY: 'unused_direct', C0: 'c0', NC: '0u', INIT: '', LOAD: '', STEP: '', DOT: '', MID: '', ACC: '', STORE: '',
  B_ENTRY: 'unused_bwd', B_INIT: '', B_LOAD: '', B_STEP: '', B_DOT: '', B_MID: '', B_ACC: '', B_DQ: '', B_STORE: '',
};

/** The `//#section NAME` parts of attention.wgsl. */
const SECTIONS: Record<string, string> = (() => {
  const parts = template.split(/^\/\/#section (\w+)[ \t]*$/m);
  const out: Record<string, string> = {};
  for (let i = 1; i < parts.length; i += 2) out[parts[i]] = parts[i + 1];
  return out;
})();

/** Which kernel family runs: 'staged' (workgroup-memory tiles, for GPUs) or 'direct' (register-blocked subgroup broadcasts, for CPU-emulated adapters). */
export type AttnVariant = 'auto' | 'staged' | 'direct';

/** Tunables, overridable for benchmarks and tests (`setAttentionTuning`). */
export interface AttnTuning {
  variant: AttnVariant;
  /** staged: rows of the other operand per workgroup-memory block (multiple of 4); 0 = automatic */
  blk: number;
  /** staged: invocations per workgroup; 0 = automatic */
  wg: number;
  /** staged: 'tiled' (default: several invocations per row, vec4 chunks) or 'rows' (the first version: one invocation per row) */
  staged?: 'tiled' | 'rows';
  /** staged tiled: invocations per row (1, 2, 4 or 8); 0 / absent = automatic */
  tpr?: number;
  /** staged tiled: rows per invocation; 0 / absent = automatic */
  rpt?: number;
  /** staged tiled: vec4 loads where the operands allow (default true) */
  vec?: boolean;
  /** staged tiled: row sums by subgroup shuffles (true) or workgroup memory (false); absent = automatic */
  sub?: boolean;
  /** direct: [rows per lane R, other-operand rows per step KB] of each kernel */
  fwd: [number, number];
  dq: [number, number];
  dkdv: [number, number];
  /**
   * direct: the single-pass backward (bwd_direct, one workgroup per batch × head, S and dP computed
   * once) when B·heads is at least this; 0 = never. Its [R, KB] are dkdv's.
   */
  single: number;
}

let tuning: AttnTuning = { variant: 'auto', blk: 0, wg: 0, fwd: [4, 16], dq: [4, 16], dkdv: [2, 8], single: 16 };

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
  return isCpuAdapter(rt) ? sg : 0;
}

/** A CPU-emulated adapter (lavapipe / llvmpipe, SwiftShader). */
function isCpuAdapter(rt: GpuRuntime): boolean {
  const i = rt.info;
  return CPU_ADAPTER.test(`${i.vendor} ${i.architecture} ${i.description} ${i.device}`);
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

function stagedKernel(entry: Entry, DH: number, wg: number, blk: number, mask: boolean, drop: boolean): Kernel {
  return {
    name: `attention_${entry}`,
    key: `attention:${entry}:${DH}:${wg}:${blk}:${mask}:${drop}`,
    bindings: BINDINGS[entry],
    entryPoint: entry,
    code: () => wgsl(SECTIONS.shared + SECTIONS.staged, { ENABLE: '', DH, WG: wg, BLK: blk, MASK: String(mask), DROP: String(drop), SZ: drop && entry === 'dkdv' ? blk * wg : 4 }),
  };
}

/** Geometry of one tiled staged kernel (wgsl/attention.wgsl, section tiled). */
export interface TiledConfig {
  /** invocations per row */
  tpr: number;
  /** vec4 chunks of the head dim per invocation */
  nv: number;
  /** rows per invocation */
  rpt: number;
  /** row groups per workgroup (invocations / tpr); rows per workgroup = rg * rpt */
  rg: number;
  /** rows of the other operand per staged block */
  bk: number;
  /** rows per group inside a block (4 or 8) */
  kg: number;
  /** subgroup shuffles for the row sums (else workgroup memory) */
  sub: boolean;
  /** a CPU adapter: loops over chunks get run-time bounds (compile time) */
  cpu: boolean;
}

const pow2ceil = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));

/** Defaults of the tiled kernels on GPUs (every kind): head-dim elements per invocation, rows per invocation. */
const TILED = { per: 16, rpt: 1 };

/**
 * The tiled kernel's geometry for `T` own rows: 16 head-dim elements per invocation (up to 8
 * invocations per row), 1 row per invocation, 128 invocations per workgroup where the rows fill
 * them (fewer for short sequences), blocks of 8 other rows, within the adapter's workgroup-memory
 * limit. Measured on an NVIDIA H200 (2026-11-26, timeGpu, B=32 T=103 dh=128 and B=4 T=1024
 * dh=64): more invocations per row and small blocks win (more resident rows); 2 rows per
 * invocation, 16-32-row blocks, 16 invocations per row or 64-invocation workgroups were slower.
 */
export function tiledConfig(rt: GpuRuntime, kind: 'forward' | 'dq' | 'dkdv', DH: number, T: number): TiledConfig {
  const cpu = isCpuAdapter(rt);
  const tpr = tuning.tpr || Math.min(8, pow2ceil(Math.ceil(DH / TILED.per)));
  const nv = Math.ceil(DH / (4 * tpr));
  const dv = nv * tpr;
  const rpt = tuning.rpt || (cpu ? 1 : TILED.rpt);
  const lim = rt.limits;
  const wgt = Math.min(tuning.wg || 128, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX);
  let rg = Math.max(1, Math.floor(wgt / tpr));
  let bestCost = Infinity;
  for (let r = rg, best = rg; ; r = Math.floor(r / 2)) {
    // padded rows, plus a per-workgroup cost for staging each block (one block load feeds r*rpt rows)
    const rows = r * rpt;
    const cost = Math.ceil(T / rows) * (rows + 6);
    if (cost < bestCost - 1e-9) {
      bestCost = cost;
      best = r;
    }
    if (r === 1) {
      rg = best;
      break;
    }
  }
  // Subgroup shuffles on real GPUs; on CPU adapters they are emulated (lavapipe takes ~20 s to
  // compile a kernel with them), so the workgroup-memory sums run there unless `sub` forces them.
  const sgMin = rt.info.subgroupMinSize ?? 0;
  const sub = rt.useSubgroups && rt.device.features.has('subgroups' as GPUFeatureName) && sgMin >= tpr && tpr > 1 && (tuning.sub ?? !cpu);
  const bytes = (bk: number, kg: number) => {
    const nred = (kind === 'forward' ? kg / 4 : kg / 2) * rpt;
    return 16 * (2 * bk * dv + 3 * (bk / 4)) + (sub || tpr === 1 ? 0 : 16 * rg * tpr * nred);
  };
  let bk = tuning.blk || 8;
  bk = Math.max(4, bk - (bk % 4));
  const kgOf = (b: number) => (b % 8 === 0 ? 8 : 4);
  while (bk > 4 && bytes(bk, kgOf(bk)) > lim.maxComputeWorkgroupStorageSize) bk -= 4;
  return { tpr, nv, rpt, rg, bk, kg: kgOf(bk), sub, cpu };
}

/** reduce(): sums each of the NRED vec4s over the TPR invocations of a row, in place. */
function reduceSource(c: TiledConfig): string {
  const head = 'fn reduce(x: ptr<function, array<vec4<f32>, NRED>>, lid: u32) {';
  if (c.tpr === 1) return `${head}\n}`;
  if (c.sub) {
    const steps = range(Math.log2(c.tpr)).map((k) => `    v += subgroupShuffleXor(v, ${1 << k}u);`);
    return [head, '  for (var n = 0u; n < NRED; n++) {', '    var v = (*x)[n];', ...steps, '    (*x)[n] = v;', '  }', '}'].join('\n');
  }
  return [
    'var<workgroup> red: array<vec4<f32>, WGT * NRED>;',
    head,
    '  for (var n = 0u; n < NRED; n++) { red[lid * NRED + n] = (*x)[n]; }',
    '  workgroupBarrier();',
    '  let r0 = lid - lid % TPR;',
    '  for (var n = 0u; n < NRED; n++) {',
    '    var v = vec4<f32>(0.0);',
    '    for (var t = 0u; t < TPR; t++) { v += red[(r0 + t) * NRED + n]; }',
    '    (*x)[n] = v;',
    '  }',
    '  workgroupBarrier();',
    '}',
  ].join('\n');
}

/** The tiled kernels' row loaders (see the section's comment): vec4 loads when `vec`. */
function loaderSource(vec: boolean): string {
  const ops: [string, string, number][] = [['ldq', 'Q', 1], ['ldk', 'K', 2], ['ldv', 'V', 3], ['ldg', 'G', 5]];
  if (vec) {
    return ops
      .map(([f, X, n]) => [
        `@group(0) @binding(${n}) var<storage, read> ${X}4: array<vec4<f32>>;`,
        `fn ${f}(base: u32, d: u32) -> vec4<f32> { let v = ${X}4[(base + min(d, DH - 4u)) / 4u]; return select(vec4<f32>(0.0), v, DH > d); }`,
      ].join('\n'))
      .join('\n');
  }
  return ops
    .map(([f, X]) =>
      [
        `fn ${f}(base: u32, d: u32) -> vec4<f32> {`,
        '  let e = vec4<u32>(d) + vec4<u32>(0u, 1u, 2u, 3u);',
        '  let c = min(e, vec4<u32>(DH - 1u));',
        `  return select(vec4<f32>(0.0), vec4<f32>(${X}[base + c.x], ${X}[base + c.y], ${X}[base + c.z], ${X}[base + c.w]), e < vec4<u32>(DH));`,
        '}',
      ].join('\n'),
    )
    .join('\n');
}

/**
 * Whether every operand row starts on a multiple of 4 floats, for vec4 loads: DH and the offsets
 * and strides of q, k, v and dO as packed in the uniform block `p` (see params(): words 4-6, 8-10,
 * 12-14 and 15-17; dO's are 0 in the forward).
 */
function vec4Rows(DH: number, p: ArrayBuffer): boolean {
  if (tuning.vec === false || DH % 4 !== 0) return false;
  const w = new Uint32Array(p, 0, 18);
  return [4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 16, 17].every((n) => w[n] % 4 === 0);
}

function tiledKernel(kind: 'forward' | 'dq' | 'dkdv', DH: number, c: TiledConfig, mask: boolean, drop: boolean, vec: boolean): Kernel {
  const entry = `${kind}_t`; // bindings as the staged entry of the same kind
  const nred = (kind === 'forward' ? c.kg / 4 : c.kg / 2) * c.rpt;
  return {
    name: `attention_${entry}`,
    key: `attention:${entry}:${DH}:${c.tpr}:${c.nv}:${c.rpt}:${c.rg}:${c.bk}:${c.kg}:${c.sub}:${c.cpu}:${vec}:${mask}:${drop}`,
    bindings: BINDINGS[kind],
    entryPoint: entry,
    code: () =>
      wgsl(SECTIONS.shared + SECTIONS.staged + SECTIONS.tiled, {
        ENABLE: c.sub ? 'enable subgroups;' : '',
        DH,
        WG: 64,
        BLK: 4,
        SZ: 4,
        MASK: String(mask),
        DROP: String(drop),
        TPR: c.tpr,
        NV: c.nv,
        RPT: c.rpt,
        RG: c.rg,
        BK: c.bk,
        KG: c.kg,
        NRED: nred,
        REDUCE: reduceSource(c),
        RZ: c.cpu ? '(P.dh >> 16u)' : '0u',
        LOADERS: loaderSource(vec),
      }),
  };
}

/** A direct kernel (the mask is a run-time flag there: one pipeline serves masked and unmasked calls). */
function directKernel(entry: Entry, DH: number, SG: number, KB: number, drop: boolean, R: number): Kernel {
  return {
    name: `attention_${entry}`,
    key: `attention:${entry}:${DH}:${SG}:${KB}:${drop}:${R}`,
    bindings: BINDINGS[entry],
    entryPoint: entry,
    code: () =>
      wgsl(SECTIONS.shared + SECTIONS.staged + SECTIONS.direct, {
        ENABLE: 'enable subgroups;',
        DH,
        WG: SG,
        BLK: 4,
        MASK: 'false',
        DROP: String(drop),
        SZ: 4,
        R,
        KB,
        SG,
        ...SKELETON,
        ...(entry === 'forward_direct' ? genForwardDirect(DH, SG, R, KB, drop) : {}),
        ...(entry === 'dq_direct' ? genDqDirect(DH, SG, R, KB, drop) : {}),
        ...(entry === 'dkdv_direct' ? genDkdvDirect(DH, SG, R, KB, drop) : {}),
        ...(entry === 'bwd_direct' ? genBwdDirect(DH, SG, R, KB, drop) : {}),
      }),
  };
}

// ---- code generation for the direct kernels: per-d statements unrolled, names r = row, c = key --

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lines = (xs: string[], indent: string) => xs.map((x) => indent + x).join('\n');

/** The skeleton's tokens from the generated statements of one kind. */
function skeleton(entry: Entry, c0: string, nc: string, ...[init, load, step, dot, mid, acc, store]: string[][]): Record<string, string> {
  return {
    ENTRY: entry,
    C0: c0,
    NC: nc,
    INIT: lines(init, '  '),
    LOAD: lines(load, '    '),
    STEP: lines(step, '    '),
    DOT: lines(dot, '      '),
    MID: lines(mid, '    '),
    ACC: lines(acc, '      '),
    STORE: lines(store, '  '),
  };
}

/** Rows of forward_direct and dq_direct: query i0 + r*SG of lane lid; the key and value bases. */
const queryRows = 'let i0 = wid.x * (SG * R) + lid; let kbase = P.k_off + b * P.k_bs + h * DH; let vbase = P.v_off + b * P.v_bs + h * DH;';

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
    store.push(`  Lse[row${r}] = select(NEG, m${r}, l${r} > 0.0);`, `  Lse[P.stat_n + row${r}] = select(0.0, log(l${r}), l${r} > 0.0);`, `} }`);
  }
  return skeleton('forward_direct', 'j0', 'P.Tk', [queryRows, ...init], loadq, keys, qk, sm, pv, store);
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
    init.push(`let row${r} = bh * P.Tq + ic${r};`, `let mx${r} = Stats[row${r}];`, `let ll${r} = Stats[P.stat_n + row${r}];`, `let dlt${r} = Stats[2u * P.stat_n + row${r}];`);
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
    for (const c of cs) ds.push(`let ds${r}_${c} = select(0.0, exp((s${r}_${c} - mx${r}) - ll${r}), keep${c}) * (dp${r}_${c} * z${r}_${c} - dlt${r}) * P.scale;`);
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
  return skeleton('dq_direct', 'j0', 'P.Tk', [queryRows, ...init], load, keys, sdp, ds, acc, store);
}

/** Statements of dkdv_direct, shared with bwd_direct (which adds dQ): per-lane key rows j0 + r. */
function dkdvParts(DH: number, SG: number, R: number, KB: number, drop: boolean) {
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
  const load = rs.flatMap((r) => [`k${r}[d] = K[kb${r} + d];`, `v${r}[d] = V[vb${r} + d];`, `dk${r}[d] = 0.0;`, `dv${r}[d] = 0.0;`]);
  const qs: string[] = [];
  for (const u of range(Math.ceil(KB / SG))) {
    qs.push(`let sr${u} = bh * P.Tq + min(i0 + ${u * SG}u + lid, P.Tq - 1u);`);
    qs.push(`let sm${u} = Stats[sr${u}];`, `let sl${u} = Stats[P.stat_n + sr${u}];`, `let sd${u} = Stats[2u * P.stat_n + sr${u}];`);
  }
  for (const c of cs) {
    qs.push(`let ic${c} = min(i0 + ${c}u, P.Tq - 1u);`);
    qs.push(`let qr${c} = qbase + ic${c} * P.q_rs + lid;`, `let gr${c} = gbase + ic${c} * P.g_rs + lid;`);
    qs.push(`let keepq${c} = i0 + ${c}u < P.Tq;`);
    const u = Math.floor(c / SG);
    qs.push(`let mx${c} = subgroupBroadcast(sm${u}, ${c % SG}u);`, `let ll${c} = subgroupBroadcast(sl${u}, ${c % SG}u);`, `let dlt${c} = subgroupBroadcast(sd${u}, ${c % SG}u);`);
  }
  for (const r of rs) for (const c of cs) qs.push(`var s${r}_${c} = 0.0;`, `var dp${r}_${c} = 0.0;`);
  // S as the forward computes it: the same products (q·scale times k) summed in the same order
  const sdp = cs.flatMap((c) => [`let ql${c} = Q[qr${c} + d0] * P.scale;`, `let gl${c} = G[gr${c} + d0];`]);
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
      ds.push(`let p${r}_${c} = select(0.0, exp((s${r}_${c} - mx${c}) - ll${c}), keepk${r} && keepq${c});`);
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
  return { init, load, qs, sdp, ds, acc, store };
}

function genDkdvDirect(DH: number, SG: number, R: number, KB: number, drop: boolean): Record<string, string> {
  const { init, load, qs, sdp, ds, acc, store } = dkdvParts(DH, SG, R, KB, drop);
  const keyRows = 'let j0 = wid.x * (SG * R) + lid * R; let qbase = P.q_off + b * P.q_bs + h * DH; let gbase = P.g_off + b * P.g_bs + h * DH;';
  return skeleton('dkdv_direct', 'i0', 'P.Tq', [keyRows, ...init], load, qs, sdp, ds, acc, store);
}

/**
 * bwd_direct: dkdv_direct's statements inside a loop over key blocks (jb), plus dQ: for the KB
 * queries c of a step and head dims d0 + lid, dQ_c += Σ over the block's keys (lane l, row r) of
 * dS[r][c] (broadcast from lane l) · K[key][d0 + lid].
 */
function genBwdDirect(DH: number, SG: number, R: number, KB: number, drop: boolean): Record<string, string> {
  const { init, load, qs, sdp, ds, acc, store } = dkdvParts(DH, SG, R, KB, drop);
  const keyRows = 'let j0 = jb + lid * R; let qbase = P.q_off + b * P.q_bs + h * DH; let gbase = P.g_off + b * P.g_bs + h * DH;';
  const keys: [number, number][] = range(SG).flatMap((l) => range(R).map((r): [number, number] => [l, r]));
  // uniform row bases of the block's keys, read by every lane at its own head dim
  const kx = keys.map(([l, r]) => `let kxr${l}_${r} = kxbase + min(jb + ${l * R + r}u, P.Tk - 1u) * P.k_rs;`);
  const rows = range(KB).map((c) => `let dqr${c} = dqbase + ic${c} * P.o_rs;`);
  const dq = keys.map(([l, r]) => `let kx${l}_${r} = K[kxr${l}_${r} + d0];`);
  for (const c of range(KB)) {
    const terms = keys.map(([l, r]): [string, string] => [`subgroupBroadcast(ds${r}_${c}, ${l}u)`, `kx${l}_${r}`]);
    dq.push(`{ let qa = ${fmaChain(`select(DC[dqr${c} + d0], 0.0, first)`, terms)}; if (keepq${c}) { DC[dqr${c} + d0] = qa; } }`);
  }
  const ind = (xs: string[], n: number) => lines(xs, ' '.repeat(n));
  return {
    B_ENTRY: 'bwd_direct',
    B_INIT: ind([keyRows, ...init, ...kx], 4),
    B_LOAD: ind(load, 6),
    B_STEP: ind([...qs, ...rows], 6),
    B_DOT: ind(sdp, 8),
    B_MID: ind(ds, 6),
    B_ACC: ind(acc, 8),
    B_DQ: ind(dq, 8),
    B_STORE: ind(store, 4),
  };
}

function buf(v: View): GPUBuffer {
  return v.storage.handle as GPUBuffer;
}

/** The operands of one attention call: geometry, q, k, v views (rank 3, unit last stride), mask, dropout. */
export interface AttnOperands {
  g: AttnGeometry;
  q: View;
  k: View;
  v: View;
  /** int32 [B, Tk] */
  mask: View | null;
  drop: AttnDropout | null;
}

function params({ g, q, k, v, mask, drop }: AttnOperands, grad: View | null, outRows: number): ArrayBuffer {
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

function describe({ g, mask, drop }: AttnOperands): string {
  return `q ${shapeStr([g.B, g.Tq, g.H * g.DH])} kv ${shapeStr([g.B, g.Tk, g.H * g.DH])} heads=${g.H}${mask ? ' masked' : ''}${drop ? ' dropout' : ''}`;
}

/** The one limit the GPU adds to the argument checks of src/attention/args.ts. */
function checkGrid(rt: GpuRuntime, g: AttnGeometry): void {
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  if (g.B * g.H > max) throw new GpuError(`attention: B×heads = ${g.B * g.H} exceeds ${max} workgroups per dimension`);
}

/**
 * Dispatches one row-parallel kernel (forward, dq or dkdv) of the family that `sg` picks
 * (0: staged): `rows` rows of the kernel's own operand per (batch, head).
 */
function dispatchRows(rt: GpuRuntime, kind: 'forward' | 'dq' | 'dkdv', sg: number, a: AttnOperands, rows: number, p: ArrayBuffer, bufs: GPUBuffer[]): void {
  const { g } = a;
  const drop = !!a.drop;
  if (sg) {
    const [R, kb] = tuning[kind === 'forward' ? 'fwd' : kind];
    rt.dispatch(directKernel(`${kind}_direct`, g.DH, sg, kb, drop, R), p, bufs, [Math.ceil(rows / (sg * R)), g.B * g.H], describe(a));
    return;
  }
  if ((tuning.staged ?? 'tiled') === 'tiled') {
    const c = tiledConfig(rt, kind, g.DH, rows);
    rt.dispatch(tiledKernel(kind, g.DH, c, !!a.mask, drop, vec4Rows(g.DH, p)), p, bufs, [Math.ceil(rows / (c.rg * c.rpt)), g.B * g.H], describe(a));
    return;
  }
  const wg = pickWorkgroup(rows);
  const blk = pickBlock(g.DH, wg, kind, drop, rt.limits.maxComputeWorkgroupStorageSize);
  rt.dispatch(stagedKernel(kind, g.DH, wg, blk, !!a.mask, drop), p, bufs, [Math.ceil(rows / wg), g.B * g.H], describe(a));
}

/**
 * The single-pass backward (bwd_direct) serves a direct-family call that needs every gradient, has
 * keys, and has enough (batch, head) pairs to keep a CPU's threads busy with one workgroup each; it
 * binds 9 storage buffers.
 */
function useSinglePass(rt: GpuRuntime, sg: number, g: AttnGeometry): boolean {
  // its one workgroup per (batch, head) walks Tq × Tk: never where the driver cuts loops short
  return rt.loopTrips === Infinity && sg > 0 && tuning.single > 0 && g.B * g.H >= tuning.single && g.Tk > 0 && g.Tq > 0 && rt.limits.maxStorageBuffersPerShaderStage >= 9;
}

/**
 * An upper bound on the loop iterations one invocation of the row kernels runs: a row walks every
 * key (forward, dQ) or every query (dK/dV), and per step loops over the head dimension a few times.
 * Where the driver stops loops early (runtime.loopTrips, docs/ENGINE.md "Driver bugs"), the
 * attention routine declines sizes past it and the composed version runs instead.
 */
export function attentionLoopTrips(g: AttnGeometry): number {
  return Math.max(g.Tq, g.Tk) * (3 * g.DH + 8);
}

/**
 * Forward. Returns the output [B, Tq, H*DH] (contiguous) and a stats buffer of 3·B·H·Tq floats:
 * per row the max m of the scaled scores and log l of the sum of exp(S − m) (the log-sum-exp is
 * m + log l, kept apart for precision, see wgsl/attention.wgsl), then the backward's Delta.
 */
export function runAttentionForward(rt: GpuRuntime, a: AttnOperands): { out: GPUBuffer; stats: GPUBuffer } {
  const { g, q, k, v, mask } = a;
  checkGrid(rt, g);
  const D = g.H * g.DH;
  const out = rt.alloc(g.B * g.Tq * D * 4, `attention output ${shapeStr([g.B, g.Tq, D])}`);
  const stats = rt.alloc(3 * g.B * g.H * g.Tq * 4, 'attention row max and log-sum');
  if (g.B * g.Tq * D === 0) return { out, stats };
  const bufs = [buf(q), buf(k), buf(v), mask ? buf(mask) : buf(q), out, stats];
  dispatchRows(rt, 'forward', directSubgroup(rt, g.DH), a, g.Tq, params(a, null, g.Tq), bufs);
  return { out, stats };
}

/**
 * Backward. `o` is the forward output (contiguous), `stats` its stats buffer, `grad` dO ([B, Tq, D]
 * view, last dim contiguous). Returns dQ, dK, dV buffers (contiguous) for those asked for.
 */
export function runAttentionBackward(
  rt: GpuRuntime,
  a: AttnOperands,
  o: GPUBuffer,
  stats: GPUBuffer,
  grad: View,
  need: { q: boolean; kv: boolean },
): { dq: GPUBuffer | null; dk: GPUBuffer | null; dv: GPUBuffer | null } {
  const { g, q, k, v, mask } = a;
  checkGrid(rt, g);
  const D = g.H * g.DH;
  const dq = need.q ? rt.alloc(g.B * g.Tq * D * 4, `attention dQ ${shapeStr([g.B, g.Tq, D])}`) : null;
  const dk = need.kv ? rt.alloc(g.B * g.Tk * D * 4, `attention dK ${shapeStr([g.B, g.Tk, D])}`) : null;
  const dv = need.kv ? rt.alloc(g.B * g.Tk * D * 4, `attention dV ${shapeStr([g.B, g.Tk, D])}`) : null;
  if (g.B * D === 0) return { dq, dk, dv };
  const sg = directSubgroup(rt, g.DH);
  const common = [buf(q), buf(k), buf(v), mask ? buf(mask) : buf(q), buf(grad), stats];
  // Delta = rowsum(dO ∘ O) into the last third of stats
  if (g.Tq > 0) {
    const wg = sg || 64;
    const kern = sg ? directKernel('delta_direct', g.DH, sg, 4, false, 1) : stagedKernel('delta', g.DH, wg, 4, false, false);
    rt.dispatch(kern, params(a, grad, g.Tq), [buf(grad), o, stats], grid1D(g.B * g.H * g.Tq, wg, rt.limits.maxComputeWorkgroupsPerDimension), describe(a));
  }
  if (dq && dk && dv && useSinglePass(rt, sg, g)) {
    const [R, kb] = tuning.dkdv;
    rt.dispatch(directKernel('bwd_direct', g.DH, sg, kb, !!a.drop, R), params(a, grad, g.Tk), [...common, dk, dv, dq], [1, g.B * g.H], describe(a));
    return { dq, dk, dv };
  }
  if (dq) dispatchRows(rt, 'dq', sg, a, g.Tq, params(a, grad, g.Tq), [...common, dq]);
  if (dk && dv) dispatchRows(rt, 'dkdv', sg, a, g.Tk, params(a, grad, g.Tk), [...common, dk, dv]);
  return { dq, dk, dv };
}
