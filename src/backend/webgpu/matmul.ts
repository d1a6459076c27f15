/**
 * GPU matmul (wgsl/matmul.wgsl): batched, strided operands, fused bias + activation epilogue.
 *
 * Two implementations, picked per adapter and shape by `planMatmul`:
 *  - 'tiled': the GPU kernel (workgroup-memory tiles, register blocks), operands read through their
 *    strides, with vec4 loads where an operand's inner dimension is contiguous.
 *  - 'simd': the CPU-SIMD kernel for llvmpipe / lavapipe (Mesa's software Vulkan), where a subgroup
 *    is one SIMD register of S lanes. Both operands are repacked into lane-contiguous panels (B is
 *    read in place when it is already vec4-readable and read only once), then a subgroup computes
 *    a TM × 4S block of C with A rows shared by subgroupBroadcast. See the header of matmul.wgsl.
 */
import template from '../../../wgsl/matmul.wgsl';
import { type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import { sizeOf, Storage, type Activation, type View } from '../backend.js';
import { runReduce } from './reduce.js';
import { Params, wgsl } from './source.js';
import { GpuError, shapeStr } from '../../gpu/errors.js';
import { UNARY } from '../op-table.js';

const ERF_FN = `fn erf_(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.5 * ax);
  let y = 1.0 - t * exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(-y, y, x >= 0.0);
}`;

/** The `//#section NAME` parts of matmul.wgsl. */
const SECTIONS: Record<string, string> = (() => {
  const out: Record<string, string> = {};
  const parts = template.split(/^\/\/#section (\w+)[ \t]*$/m);
  for (let i = 1; i < parts.length; i += 2) out[parts[i]] = parts[i + 1];
  return out;
})();

function section(name: string): string {
  const s = SECTIONS[name];
  if (s === undefined) throw new Error(`matmul.wgsl has no section '${name}'`);
  return s;
}

/** The fused epilogue: activate(x, act) with act 0 none, 1 relu, 2 gelu (a uniform, not a pipeline variant). */
const EPILOGUE_FNS = `${ERF_FN}

fn activate(x: f32, act: u32) -> f32 {
  if (act == 1u) { return max(x, 0.0); }
  if (act == 2u) { let a = x; return ${UNARY.gelu.op.wgsl}; }
  return x;
}`;

const ACT_CODE: Record<Activation, number> = { none: 0, relu: 1, gelu: 2 };

/** A 16-byte buffer bound as the bias when there is none (one per runtime). */
const dummyBias = new WeakMap<GpuRuntime, GPUBuffer>();
function biasBuffer(rt: GpuRuntime, bias: View | null): GPUBuffer {
  if (bias) return bias.storage.handle as GPUBuffer;
  let b = dummyBias.get(rt);
  if (!b) {
    // Owned by the kernel for the runtime's lifetime, outside the tensor pool (so leak checks
    // that count in-use pool buffers see only tensors).
    b = rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'matmul dummy bias' });
    dummyBias.set(rt, b);
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Configuration and planning

export type MatmulPath = 'auto' | 'tiled' | 'simd';

export interface MatmulConfig {
  /** 'auto' (default) picks per adapter and shape; 'tiled' / 'simd' force a path where it can run. */
  path: MatmulPath;
  /** SIMD path: rows per subgroup block (a multiple of the subgroup size); 0 = chosen per shape. */
  tm: number;
  /** SIMD path: read B in place instead of packing it: 'auto', or force on (where possible) / off. */
  directB: 'auto' | boolean;
  /**
   * Below this many multiply-adds (batch·M·N·K) 'auto' uses the tiled kernel. 0 on purpose: on a CPU
   * adapter the SIMD path is no slower even for tiny products (both are dispatch-bound there), and
   * LLVM takes ~15 s to compile the tiled kernel (workgroup barriers become coroutines) against ~3 s
   * for the smallest SIMD variant.
   */
  simdMinMacs: number;
  /** Measure the SIMD row blocks on the adapter at init (src/backend/webgpu/matmul-tune.ts); off: built-in rates. */
  tune: boolean;
}

const DEFAULTS: MatmulConfig = { path: 'auto', tm: 0, directB: 'auto', simdMinMacs: 0, tune: true };

/** Products below this many multiply-adds use the smallest SIMD block (TM = S): one cheap pipeline. */
const SMALL_MACS = 1 << 20;

/** DUALALIGN_MATMUL=path=simd,tm=24,directB=false (benchmarks and experiments in Node). */
function envConfig(): Partial<MatmulConfig> {
  const env = typeof process !== 'undefined' ? process.env?.DUALALIGN_MATMUL : undefined;
  const out: Record<string, unknown> = {};
  for (const kv of (env ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=').map((s) => s.trim());
    if (k === 'path' && (v === 'auto' || v === 'tiled' || v === 'simd')) out.path = v;
    else if ((k === 'tm' || k === 'simdMinMacs') && Number.isFinite(Number(v))) out[k] = Number(v);
    else if (k === 'directB') out.directB = v === 'auto' ? 'auto' : v === 'true' || v === '1';
    else if (k === 'tune' && (v === 'on' || v === 'off')) out.tune = v === 'on';
    else throw new GpuError(`DUALALIGN_MATMUL: cannot parse '${kv}' (keys: path=auto|tiled|simd, tm=N, directB=auto|true|false, simdMinMacs=N, tune=on|off)`);
  }
  return out as Partial<MatmulConfig>;
}

let config: MatmulConfig = { ...DEFAULTS, ...envConfig() };

/** The current configuration (a copy). */
export function matmulConfig(): MatmulConfig {
  return { ...config };
}

/** Changes how matmuls are planned (tests and benchmarks); returns the previous configuration. */
export function configureMatmul(c: Partial<MatmulConfig> | null): MatmulConfig {
  const prev = config;
  config = c === null ? { ...DEFAULTS, ...envConfig() } : { ...config, ...c };
  return prev;
}

/**
 * SIMD lanes of the subgroup on a CPU adapter (llvmpipe / lavapipe with subgroups), else 0.
 * llvmpipe names its vector width in the device string ('llvmpipe-llvm-15-0-6-256-bits-').
 */
export function cpuSimdLanes(rt: GpuRuntime): number {
  const info = rt.info;
  if (!rt.useSubgroups) return 0;
  const id = `${info.device} ${info.description} ${info.architecture}`.toLowerCase();
  if (!id.includes('llvmpipe') && !id.includes('lavapipe')) return 0;
  const m = /(\d+)-bits/.exec(info.device);
  const lanes = (m ? Number(m[1]) : 256) / 32;
  return lanes === 4 || lanes === 8 || lanes === 16 ? lanes : 0;
}

interface Dims {
  r: number;
  M: number;
  K: number;
  N: number;
  batchShape: number[];
  batch: number;
  aBatchStrides: number[];
  bBatchStrides: number[];
}

function dims(a: View, b: View): Dims {
  const r = a.shape.length;
  const batchShape = a.shape.slice(0, r - 2);
  return {
    r,
    M: a.shape[r - 2],
    K: a.shape[r - 1],
    N: b.shape[r - 1],
    batchShape,
    batch: sizeOf(batchShape),
    aBatchStrides: a.strides.slice(0, r - 2),
    bBatchStrides: b.strides.slice(0, r - 2),
  };
}

/** True when every batch dim of size > 1 has stride 0 (the operand is shared by all batches). */
function sharedOverBatch(shape: readonly number[], strides: readonly number[]): boolean {
  return strides.every((s, i) => s === 0 || shape[i] === 1);
}

/** The batch dims collapse to one stride (z · stride), or null. */
function collapsedBatchStride(shape: readonly number[], strides: readonly number[]): number | null {
  let stride: number | null = null;
  let span = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (stride === null) stride = strides[i];
    else if (strides[i] !== stride * span) return null;
    span *= shape[i];
  }
  return stride ?? 0;
}

const mult4 = (...v: number[]) => v.every((x) => x % 4 === 0);

/** Largest B (elements) the SIMD path reads in place when it could also pack it (2 MB of f32). */
const DIRECT_B_MAX = 512 * 1024;

export interface TiledPlan {
  path: 'tiled';
  vecA: boolean;
  vecB: boolean;
}

export interface SimdPlan {
  path: 'simd';
  S: number;
  TM: number;
  /** Batch folded into the rows (B shared by every batch). */
  flat: boolean;
  rows: number;
  Z: number;
  K4: number;
  N4: number;
  groups: number;
  strips: number;
  aCopies: number;
  aVec: boolean;
  directB: boolean;
  bCopies: number;
  bVec: boolean;
  bZStride: number;
}

export type MatmulPlan = TiledPlan | SimdPlan;

/** Built-in rate of each row block (RB = TM / S) relative to the best, from one AVX-512 host. */
const DEFAULT_RATES: Record<number, number> = { 1: 0.6, 2: 0.85, 4: 1 };

/**
 * Installs measured rates (TM → rate relative to the best TM) for this runtime's adapter
 * (matmul-tune.ts), or null for the built-in ones. Kept on the runtime (rt.tuning), so every copy
 * of this planner (bench/lib/plan.mjs bundles one) plans the same kernel.
 */
export function setRowBlockRates(rt: GpuRuntime, rates: Record<number, number> | null): void {
  rt.tuning.matmulRowBlocks = rates ? { ...rates } : undefined;
}

/** The rates chooseTM weighs on this runtime: TM → relative rate. */
export function rowBlockRatesOf(rt: GpuRuntime, S: number): Record<number, number> {
  const measured = rt.tuning.matmulRowBlocks;
  const out: Record<number, number> = {};
  for (const rb of [1, 2, 4]) out[rb * S] = measured?.[rb * S] ?? DEFAULT_RATES[rb];
  return out;
}

/**
 * Rows per subgroup block: TM = RB · S with RB row groups of S rows, balancing the padding waste of
 * the last block against register reuse (the rate of each block, measured on the adapter by
 * matmul-tune.ts, or built in). RB = 3 is left out: it was no faster than 4, and every TM is one
 * more pipeline for LLVM to compile (seconds on a CPU adapter).
 */
function chooseTM(rows: number, S: number, rates: Record<number, number>): number {
  let best = S;
  let bestCost = Infinity;
  for (const rb of [1, 2, 4]) {
    const tm = rb * S;
    const cost = (Math.ceil(rows / tm) * tm) / rates[tm];
    if (cost < bestCost - 1e-9) {
      bestCost = cost;
      best = tm;
    }
  }
  return best;
}

function planTiled(a: View, b: View, d: Dims): TiledPlan {
  const { r, K, N, aBatchStrides, bBatchStrides } = d;
  const vecA = a.strides[r - 1] === 1 && mult4(K, a.strides[r - 2], a.offset, ...aBatchStrides);
  const vecB = b.strides[r - 1] === 1 && mult4(N, b.strides[r - 2], b.offset, ...bBatchStrides);
  return { path: 'tiled', vecA, vecB };
}

function planSimd(rt: GpuRuntime, a: View, b: View, d: Dims, S: number): SimdPlan | null {
  const { r, M, K, N, batchShape, batch, aBatchStrides, bBatchStrides } = d;
  const bShared = sharedOverBatch(batchShape, bBatchStrides);
  const aShared = sharedOverBatch(batchShape, aBatchStrides);
  const flat = bShared && batch > 1;
  const rows = flat ? batch * M : M;
  const Z = flat ? 1 : batch;
  const TM = config.tm > 0 && config.tm % S === 0 ? config.tm : batch * M * N * K < SMALL_MACS ? S : chooseTM(rows, S, rowBlockRatesOf(rt, S));
  const K4 = Math.ceil(K / 4);
  const N4 = Math.ceil(N / 4);
  const groups = Math.ceil(rows / TM) * (TM / S);
  const strips = Math.ceil(N4 / S);
  const aCopies = flat || aShared ? 1 : batch;
  const aVec = a.strides[r - 1] === 1 && mult4(K, a.strides[r - 2], a.offset, ...aBatchStrides);
  const bVec = b.strides[r - 1] === 1 && mult4(N, b.strides[r - 2], b.offset, ...bBatchStrides);
  const bStride = bShared ? 0 : collapsedBatchStride(batchShape, bBatchStrides);
  const canDirect = bVec && K % 4 === 0 && bStride !== null && bStride % 4 === 0;
  // Packing B pays when B is re-read by many row blocks and too big to stay in cache between them.
  const directB = canDirect && (config.directB === 'auto' ? Math.ceil(rows / TM) <= 2 || K * N <= DIRECT_B_MAX : config.directB);
  const bCopies = bShared ? 1 : batch;
  const maxWg = rt.limits.maxComputeWorkgroupsPerDimension;
  if (Math.ceil(rows / TM) > maxWg || strips > maxWg || Z > maxWg) return null;
  const max = rt.maxBindingBytes;
  if (aCopies * groups * K4 * S * 16 > max) return null;
  if (!directB && bCopies * strips * K4 * 4 * S * 16 > max) return null;
  return {
    path: 'simd',
    S,
    TM,
    flat,
    rows,
    Z,
    K4,
    N4,
    groups,
    strips,
    aCopies,
    aVec,
    directB,
    bCopies,
    bVec,
    bZStride: directB ? (bStride ?? 0) / 4 : bShared ? 0 : strips * K4 * 4 * S,
  };
}

/** The kernel plan runMatmul would use for a @ b on this runtime (exported for tests and benchmarks). */
export function planMatmul(rt: GpuRuntime, a: View, b: View): MatmulPlan {
  const d = dims(a, b);
  const S = config.path === 'tiled' ? 0 : cpuSimdLanes(rt);
  const macs = d.batch * d.M * d.N * d.K;
  if (S > 0 && (config.path === 'simd' || macs >= config.simdMinMacs)) {
    const p = planSimd(rt, a, b, d, S);
    if (p) return p;
  }
  return planTiled(a, b, d);
}

/** A short description of a plan, e.g. 'simd S=8 TM=32 packA(vec4) packB flat'. */
export function describePlan(p: MatmulPlan): string {
  if (p.path === 'tiled') return `tiled 64x64${p.vecA ? ' vec4A' : ''}${p.vecB ? ' vec4B' : ''}`;
  return `simd S=${p.S} TM=${p.TM} packA${p.aVec ? '(vec4)' : ''} ${p.directB ? 'directB' : `packB${p.bVec ? '(vec4)' : ''}`}${p.flat ? ' batch-folded' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Kernels

function tiledKernel(vecA: boolean, vecB: boolean): Kernel {
  const A_LOAD = vecA
    ? `      var v = vec4<f32>(0.0);
      if (gm < P.M && gk < P.K) { v = A[(a_base + gm * P.sa_m + gk) / 4u]; }
      As[kk * BM + m] = v.x;
      As[(kk + 1u) * BM + m] = v.y;
      As[(kk + 2u) * BM + m] = v.z;
      As[(kk + 3u) * BM + m] = v.w;`
    : `      for (var l = 0u; l < 4u; l++) {
        var v = 0.0;
        if (gm < P.M && gk + l < P.K) { v = A[a_base + gm * P.sa_m + (gk + l) * P.sa_k]; }
        As[(kk + l) * BM + m] = v;
      }`;
  const B_LOAD = vecB
    ? `      var v = vec4<f32>(0.0);
      if (gk < P.K && gn < P.N) { v = B[(b_base + gk * P.sb_k + gn) / 4u]; }
      Bs[kk * BN + n] = v.x;
      Bs[kk * BN + n + 1u] = v.y;
      Bs[kk * BN + n + 2u] = v.z;
      Bs[kk * BN + n + 3u] = v.w;`
    : `      for (var l = 0u; l < 4u; l++) {
        var v = 0.0;
        if (gk < P.K && gn + l < P.N) { v = B[b_base + gk * P.sb_k + (gn + l) * P.sb_n]; }
        Bs[kk * BN + n + l] = v;
      }`;
  return {
    name: 'matmul',
    key: `matmul:tiled:${vecA ? 'va' : 'sa'}:${vecB ? 'vb' : 'sb'}`,
    bindings: ['uniform', 'read', 'read', 'read', 'rw'],
    code: () =>
      wgsl(section('tiled'), {
        EPILOGUE_FNS,
        A_TYPE: vecA ? 'vec4<f32>' : 'f32',
        B_TYPE: vecB ? 'vec4<f32>' : 'f32',
        A_LOAD,
        B_LOAD,
      }),
  };
}

/** k4 steps (pack A) or rows (pack B) per pack invocation. */
const PACK_KC = 64;

function packAKernel(S: number, vec: boolean): Kernel {
  return {
    name: 'matmul_pack_a',
    key: `matmul:pack_a:${S}:${vec}`,
    bindings: ['uniform', 'read', 'rw'],
    code: () =>
      wgsl(section('pack_a'), {
        S,
        KC: PACK_KC,
        SRC_TYPE: vec ? 'vec4<f32>' : 'f32',
        LOAD: vec
          ? '    v = A[base / 4u + k4];'
          : '    for (var q = 0u; q < 4u; q++) { let k = k4 * 4u + q; if (k < P.K) { v[q] = A[base + k * P.sa_k]; } }',
      }),
  };
}

function packBKernel(S: number, vec: boolean): Kernel {
  return {
    name: 'matmul_pack_b',
    key: `matmul:pack_b:${S}:${vec}`,
    bindings: ['uniform', 'read', 'rw'],
    code: () =>
      wgsl(section('pack_b'), {
        S,
        KC: PACK_KC,
        SRC_TYPE: vec ? 'vec4<f32>' : 'f32',
        LOAD: vec
          ? '      v = B[(row + n0) / 4u];'
          : '      for (var q = 0u; q < 4u; q++) { let n = n0 + q; if (n < P.N) { v[q] = B[row + n * P.sb_n]; } }',
      }),
  };
}

function simdKernel(S: number, TM: number, directB: boolean): Kernel {
  const RB = TM / S;
  const init: string[] = [];
  for (let r = 0; r < RB; r++) init.push(`  let pa${r} = z * P.a_zstride + (wid.x * ${RB}u + ${r}u) * P.K4 * S + lane;`);
  init.push(
    directB
      ? '  let pb = P.b_off4 + z * P.b_zstride + min(col4, P.N4 - 1u);'
      : '  let pb = z * P.b_zstride + wid.y * P.K4 * 4u * S + lane;',
  );
  for (let i = 0; i < TM; i++) init.push(`  var acc${i} = vec4<f32>(0.0);`);

  const body: string[] = [];
  if (directB) {
    body.push('    let kb = pb + k * 4u * P.sb_k4;');
    for (let q = 0; q < 4; q++) body.push(`    let b${q} = Bq[kb + ${q}u * P.sb_k4];`);
  } else {
    body.push(`    let kb = pb + k * ${4 * S}u;`);
    for (let q = 0; q < 4; q++) body.push(`    let b${q} = Bq[kb + ${q * S}u];`);
  }
  body.push(`    let ka = k * S;`);
  for (let r = 0; r < RB; r++) {
    body.push(`    let av${r} = Ap[pa${r} + ka];`);
    for (let l = 0; l < S; l++) {
      const i = r * S + l;
      body.push(
        `    { let a = subgroupBroadcast(av${r}, ${l}u); acc${i} = fma(vec4(a.w), b3, fma(vec4(a.z), b2, fma(vec4(a.y), b1, fma(vec4(a.x), b0, acc${i})))); }`,
      );
    }
  }

  const ep: string[] = [];
  ep.push('  var bv = vec4<f32>(0.0);');
  ep.push('  if (P.has_bias != 0u) {');
  ep.push('    for (var q = 0u; q < 4u; q++) { let c = c4 * 4u + q; if (c < P.N) { bv[q] = Bias[P.bias_off + c * P.bias_stride]; } }');
  ep.push('  }');
  for (let i = 0; i < TM; i++) {
    ep.push(`  if (row0 + ${i}u < P.M && col4 < P.N4) {`);
    ep.push(`    let v = acc${i} + bv;`);
    // Scalar stores whatever N is (the epilogue runs once per block; one pipeline variant less).
    ep.push(`    let o = (cz + row0 + ${i}u) * P.N + col4 * 4u;`);
    ep.push('    for (var q = 0u; q < 4u; q++) { if (col4 * 4u + q < P.N) { C[o + q] = activate(v[q], P.act); } }');
    ep.push('  }');
  }
  return {
    name: 'matmul_simd',
    key: `matmul:simd:${S}:${TM}:${directB ? 'db' : 'pb'}`,
    bindings: ['uniform', 'read', 'read', 'read', 'rw'],
    code: () =>
      wgsl(section('simd'), {
        EPILOGUE_FNS,
        S,
        TM,
        INIT: init.join('\n'),
        BODY: body.join('\n'),
        EPILOGUE: ep.join('\n'),
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Dispatch

export function runMatmul(rt: GpuRuntime, a: View, b: View, bias: View | null, activation: Activation): GPUBuffer {
  const d = dims(a, b);
  const { M, N, batchShape, batch } = d;
  const plan = planMatmul(rt, a, b);
  const describe = `${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`;
  const trips = loopTrips(plan, d.K);
  if (trips > rt.loopTrips && !bias && activation === 'none' && batch * M * N > 0) return runSplitK(rt, a, b, d, plan);
  rt.checkLoopTrips('matmul', trips, describe);
  const out = rt.alloc(batch * M * N * 4, `matmul output ${shapeStr([...batchShape, M, N])}`);
  if (batch * M * N === 0) return out;
  const maxZ = rt.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxZ) throw new GpuError(`matmul batch of ${batch} exceeds ${maxZ}; reshape into fewer batches`);
  if (plan.path === 'simd') runSimd(rt, plan, a, b, bias, activation, d, out, describe);
  else runTiled(rt, plan, a, b, bias, activation, d, out, describe);
  return out;
}

/**
 * Loop iterations one invocation runs for a contraction of length K: the tiled kernel's 16-deep
 * steps cost 18 each on stock Mesa 22's compiler (its small fixed loops unrolled, measured), the
 * SIMD kernel one per vec4 of K after its pack chunk.
 */
function loopTrips(plan: MatmulPlan, K: number): number {
  return plan.path === 'simd' ? Math.ceil(K / 4) + PACK_KC : Math.ceil(K / 16) * 18;
}

/**
 * A contraction too long for the adapter's loop limit (src/gpu/probe.ts): matmuls over slices of
 * K, each into its part of one buffer [parts, batch·M·N], then the sum over the parts.
 */
function runSplitK(rt: GpuRuntime, a: View, b: View, d: Dims, plan: MatmulPlan): GPUBuffer {
  const { r, K } = d;
  const total = d.batch * d.M * d.N;
  const fit = plan.path === 'simd' ? (rt.loopTrips - PACK_KC) * 4 : (rt.loopTrips / 18) * 16;
  const kc = Math.max(16, Math.floor(fit / 16) * 16);
  const parts = Math.ceil(K / kc);
  const partial = rt.alloc(parts * total * 4, `matmul partial products ${shapeStr([parts, total])}`);
  for (let p = 0; p < parts; p++) {
    const k = Math.min(kc, K - p * kc);
    const aPart: View = { ...a, shape: [...a.shape.slice(0, r - 1), k], offset: a.offset + p * kc * a.strides[r - 1] };
    const bPart: View = { ...b, shape: [...b.shape.slice(0, r - 2), k, d.N], offset: b.offset + p * kc * b.strides[r - 2] };
    const part = runMatmul(rt, aPart, bPart, null, 'none');
    rt.copy(part, 0, partial, p * total * 4, total * 4);
    rt.free(part);
  }
  const sum = runReduce(rt, 'sum', { storage: new Storage(a.storage.backend, partial, parts * total), shape: [parts, total], strides: [total, 1], offset: 0, dtype: 'float32' }, [0], 1, 'float32');
  rt.free(partial);
  return sum;
}

function runTiled(rt: GpuRuntime, plan: TiledPlan, a: View, b: View, bias: View | null, activation: Activation, d: Dims, out: GPUBuffer, describe: string): void {
  const { r, M, N, K, batchShape, batch } = d;
  const p = new Params()
    .u32(M, N, K, batchShape.length)
    .u32(a.strides[r - 2], a.strides[r - 1], b.strides[r - 2], b.strides[r - 1])
    .u32(a.offset, b.offset, bias?.offset ?? 0, bias?.strides[0] ?? 1)
    .u32(bias ? 1 : 0, ACT_CODE[activation], 0, 0)
    .dims8(batchShape)
    .dims8(d.aBatchStrides)
    .dims8(d.bBatchStrides);
  const buffers = [a.storage.handle as GPUBuffer, b.storage.handle as GPUBuffer, biasBuffer(rt, bias), out];
  rt.dispatch(tiledKernel(plan.vecA, plan.vecB), p.build(), buffers, [Math.ceil(N / 64), Math.ceil(M / 64), batch], describe);
}

function runSimd(rt: GpuRuntime, p: SimdPlan, a: View, b: View, bias: View | null, activation: Activation, d: Dims, out: GPUBuffer, describe: string): void {
  const { r, M, K, N, batchShape } = d;
  const { S, K4, N4, groups, strips } = p;
  // Pack A: [aCopies][groups][K4][S] vec4.
  const aTotal = p.aCopies * groups * K4 * S;
  const ap = rt.alloc(Math.max(aTotal * 16, 16), 'matmul packed A');
  if (aTotal > 0) {
    const pa = new Params()
      .u32(M, K, K4, groups)
      .u32(p.flat ? p.rows : M, p.flat ? 1 : 0, batchShape.length, a.strides[r - 2])
      .u32(a.strides[r - 1], a.offset, 0, 0)
      .dims8(batchShape)
      .dims8(d.aBatchStrides);
    const grid: [number, number, number] = [Math.ceil((groups * S) / 64), Math.ceil(K4 / PACK_KC), p.aCopies];
    rt.dispatch(packAKernel(S, p.aVec), pa.build(), [a.storage.handle as GPUBuffer, ap], grid, `${describe} (pack A)`);
  }

  // Pack B: [bCopies][strips][K4·4][S] vec4, unless B is read in place.
  let bq = b.storage.handle as GPUBuffer;
  let bp: GPUBuffer | null = null;
  if (!p.directB) {
    const Kp = K4 * 4;
    const bTotal = p.bCopies * strips * Kp * S;
    bp = rt.alloc(Math.max(bTotal * 16, 16), 'matmul packed B');
    bq = bp;
    if (bTotal > 0) {
      // A single shared copy (batch_rank 0) starts at the view's own offset.
      const pb = new Params()
        .u32(N, K, Kp, strips)
        .u32(p.bCopies > 1 ? batchShape.length : 0, b.strides[r - 2], b.strides[r - 1], b.offset)
        .dims8(p.bCopies > 1 ? batchShape : [])
        .dims8(p.bCopies > 1 ? d.bBatchStrides : []);
      const grid: [number, number, number] = [Math.ceil((strips * S) / 64), Math.ceil(Kp / PACK_KC), p.bCopies];
      rt.dispatch(packBKernel(S, p.bVec), pb.build(), [b.storage.handle as GPUBuffer, bp], grid, `${describe} (pack B)`);
    }
  }

  const pm = new Params()
    .u32(p.rows, N, K4, N4)
    .u32(p.aCopies > 1 ? groups * K4 * S : 0, p.bZStride, p.directB ? b.offset / 4 : 0, p.directB ? b.strides[r - 2] / 4 : 0)
    .u32(bias?.offset ?? 0, bias?.strides[0] ?? 1, bias ? 1 : 0, ACT_CODE[activation]);
  const buffers = [ap, bq, biasBuffer(rt, bias), out];
  rt.dispatch(
    simdKernel(S, p.TM, p.directB),
    pm.build(),
    buffers,
    [Math.ceil(p.rows / p.TM), strips, p.Z],
    describe,
  );
  rt.free(ap);
  if (bp) rt.free(bp);
}
