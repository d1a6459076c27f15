/**
 * GPU Gram-volume kernels (wgsl/gram.wgsl): prep (normalize + per-sample Grams), cross (V and the
 * B×B×(K−1) cross products), pair (per-pair cofactor backward) and grad_m / grad_a (the two
 * matmul-like gradient chains with the normalization backward in their epilogue).
 * Specialized per K (2..8): the determinant and cofactor code is generated here in straight-line
 * WGSL (closed forms for n ≤ 3, Gaussian elimination with partial pivoting above).
 */
import template from '../../wgsl/gram.wgsl';
import { grid1D, type BindingKind, type GpuRuntime, type Kernel } from '../gpu/runtime.js';
import type { View } from '../backend/backend.js';
import { Params, wgsl } from './source.js';
import { GpuError, shapeStr } from '../gpu/errors.js';

// ---- determinant / cofactor code generation ----------------------------------------------------

/** Closed-form det of an n×n (n ≤ 3) matrix whose row-major entries are the WGSL expressions e. */
function detExpr(e: string[], n: number): string {
  if (n === 1) return `(${e[0]})`;
  if (n === 2) return `(${e[0]} * ${e[3]} - ${e[1]} * ${e[2]})`;
  return `(${e[0]} * (${e[4]} * ${e[8]} - ${e[5]} * ${e[7]}) - ${e[1]} * (${e[3]} * ${e[8]} - ${e[5]} * ${e[6]}) + ${e[2]} * (${e[3]} * ${e[7]} - ${e[4]} * ${e[6]}))`;
}

/** det of an n×n matrix by Gaussian elimination with partial pivoting; row swaps as selects. */
function luDetFn(n: number): string {
  const nn = n * n;
  return `fn det_n${n}(a_in: array<f32, ${nn}>) -> f32 {
  var a = a_in;
  var det = 1.0;
  for (var c = 0u; c < ${n}u; c++) {
    var p = c;
    var best = abs(a[c * ${n}u + c]);
    for (var r = c + 1u; r < ${n}u; r++) {
      let v = abs(a[r * ${n}u + c]);
      if (v > best) { best = v; p = r; }
    }
    if (best == 0.0) { return 0.0; }
    if (p != c) { det = -det; }
    for (var r = c + 1u; r < ${n}u; r++) {
      let sw = r == p;
      for (var k = c; k < ${n}u; k++) {
        let x = a[c * ${n}u + k];
        let y = a[r * ${n}u + k];
        a[c * ${n}u + k] = select(x, y, sw);
        a[r * ${n}u + k] = select(y, x, sw);
      }
    }
    let piv = a[c * ${n}u + c];
    det *= piv;
    for (var r = c + 1u; r < ${n}u; r++) {
      let f = a[r * ${n}u + c] / piv;
      for (var k = c + 1u; k < ${n}u; k++) { a[r * ${n}u + k] = a[r * ${n}u + k] - f * a[c * ${n}u + k]; }
    }
  }
  return det;
}
`;
}

/**
 * adj(A)ᵀ (the cofactor matrix) of an n×n matrix from one LU with partial pivoting, PA = LU:
 * adj(A) = det(P) · adj(U) · L⁻¹ · P. L is unit lower triangular, so L⁻¹ needs no division;
 * adj(U) of the (possibly singular) triangular U is built division-free from the recurrence
 * p(j, j) = 1, p(i, j) = −Σ_{k=i+1..j} u_ik p(k, j) Π_{l=i+1..k−1} u_ll,
 * adj(U)_ij = p(i, j) Π_{l<i} u_ll Π_{l>j} u_ll. A zero pivot column is skipped (multipliers 0), which
 * keeps PA = LU exact, so the result is the exact adjugate (finite) for singular A too: no det·A⁻¹.
 * Every array index is a loop constant; the data-dependent row / column swaps are selects.
 */
function adjugateFn(n: number): string {
  const nn = n * n;
  return `fn adj_lu(a_in: array<f32, ${nn}>) -> array<f32, ${nn}> {
  const N: u32 = ${n}u;
  var a = a_in;
  var perm: array<u32, ${n}>;
  var sgn = 1.0;
  for (var c = 0u; c < N; c++) {
    var p = c;
    var best = abs(a[c * N + c]);
    for (var r = c + 1u; r < N; r++) {
      let v = abs(a[r * N + c]);
      if (v > best) { best = v; p = r; }
    }
    perm[c] = p;
    if (p != c) { sgn = -sgn; }
    for (var r = c + 1u; r < N; r++) {
      let sw = r == p;
      for (var k = 0u; k < N; k++) {
        let x = a[c * N + k];
        let y = a[r * N + k];
        a[c * N + k] = select(x, y, sw);
        a[r * N + k] = select(y, x, sw);
      }
    }
    let piv = a[c * N + c];
    for (var r = c + 1u; r < N; r++) {
      let f = select(a[r * N + c] / piv, 0.0, piv == 0.0);
      a[r * N + c] = f;
      for (var k = c + 1u; k < N; k++) { a[r * N + k] = a[r * N + k] - f * a[c * N + k]; }
    }
  }
  // L⁻¹ (unit lower triangular).
  var li: array<f32, ${nn}>;
  for (var i = 0u; i < N; i++) {
    li[i * N + i] = 1.0;
    for (var j = 0u; j < i; j++) {
      var s = 0.0;
      for (var k = j; k < i; k++) { s += a[i * N + k] * li[k * N + j]; }
      li[i * N + j] = -s;
    }
  }
  // adj(U), upper triangular.
  var pu: array<f32, ${nn}>;
  for (var j = 0u; j < N; j++) {
    pu[j * N + j] = 1.0;
    for (var ii = 1u; ii <= j; ii++) {
      let i = j - ii;
      var s = 0.0;
      var seg = 1.0;
      for (var k = i + 1u; k <= j; k++) {
        s += a[i * N + k] * pu[k * N + j] * seg;
        seg *= a[k * N + k];
      }
      pu[i * N + j] = -s;
    }
  }
  var pre: array<f32, ${n}>;
  var suf: array<f32, ${n}>;
  pre[0] = 1.0;
  for (var i = 1u; i < N; i++) { pre[i] = pre[i - 1u] * a[(i - 1u) * N + i - 1u]; }
  suf[N - 1u] = 1.0;
  for (var ii = 1u; ii < N; ii++) { let i = N - 1u - ii; suf[i] = suf[i + 1u] * a[(i + 1u) * N + i + 1u]; }
  // X = adj(U) · L⁻¹
  var x: array<f32, ${nn}>;
  for (var i = 0u; i < N; i++) {
    for (var j = 0u; j < N; j++) {
      var s = 0.0;
      for (var k = max(i, j); k < N; k++) { s += pu[i * N + k] * pre[i] * suf[k] * li[k * N + j]; }
      x[i * N + j] = s;
    }
  }
  // adj(A) = sgn · X · P: undo the row swaps as column swaps, last first.
  for (var cc = 0u; cc < N; cc++) {
    let c = N - 1u - cc;
    for (var r = c + 1u; r < N; r++) {
      let sw = r == perm[c];
      for (var k = 0u; k < N; k++) {
        let u = x[k * N + c];
        let v = x[k * N + r];
        x[k * N + c] = select(u, v, sw);
        x[k * N + r] = select(v, u, sw);
      }
    }
  }
  // cofactors = adj(A)ᵀ
  var out: array<f32, ${nn}>;
  for (var i = 0u; i < N; i++) {
    for (var j = 0u; j < N; j++) { out[i * N + j] = sgn * x[j * N + i]; }
  }
  return out;
}
`;
}

/** det_g(G) and cofactors_g(G) (the full symmetric cofactor matrix = adj(G)ᵀ) for K×K G. */
export function detFunctions(K: number): string {
  const KK = K * K;
  const g = (r: number, c: number) => `g[${r * K + c}]`;
  let out = '';
  if (K >= 4) out += luDetFn(K);
  if (K - 1 >= 4) out += luDetFn(K - 1);
  const all: string[] = [];
  for (let r = 0; r < K; r++) for (let c = 0; c < K; c++) all.push(g(r, c));
  out += `fn det_g(g: array<f32, ${KK}>) -> f32 {\n  return ${K <= 3 ? detExpr(all, K) : `det_n${K}(g)`};\n}\n`;
  const m = K - 1;
  if (m >= 4) {
    // K ≥ 5: 36 unrolled 7×7 minor eliminations take seconds to compile on lavapipe, so the
    // cofactors come from one pivoted LU instead, division-free past the elimination (below).
    out += adjugateFn(K);
    out += `fn cofactors_g(g: array<f32, ${KK}>) -> array<f32, ${KK}> {\n  return adj_lu(g);\n}\n`;
    return out;
  }
  const cof: string[][] = Array.from({ length: K }, () => new Array<string>(K));
  let body = '';
  for (let a = 0; a < K; a++) {
    for (let b = a; b < K; b++) {
      const minor: string[] = [];
      for (let r = 0; r < K; r++) {
        if (r === a) continue;
        for (let c = 0; c < K; c++) if (c !== b) minor.push(g(r, c));
      }
      const d = m <= 3 ? detExpr(minor, m) : `det_n${m}(array<f32, ${m * m}>(${minor.join(', ')}))`;
      body += `  let c${a}_${b} = ${(a + b) % 2 === 0 ? '' : '-'}${d};\n`;
      cof[a][b] = `c${a}_${b}`;
      cof[b][a] = `c${a}_${b}`;
    }
  }
  out += `fn cofactors_g(g: array<f32, ${KK}>) -> array<f32, ${KK}> {\n${body}  return array<f32, ${KK}>(${cof.flat().join(', ')});\n}\n`;
  return out;
}

// ---- kernels -------------------------------------------------------------------------------------

type Entry = 'prep' | 'cross' | 'pair' | 'grad_m' | 'grad_a';

/** Register blocking of the cross kernel per K: samples × anchors per invocation (≤ 32 vec4 accumulators). */
export function crossBlocking(K: number): { RA: number; RB: number } {
  if (tuning.cross) return tuning.cross;
  const Km = K - 1;
  if (Km <= 2) return { RA: 4, RB: 4 };
  if (Km <= 4) return { RA: 2, RB: 4 };
  return { RA: 1, RB: 4 };
}

/** Overrides of the blocking choices, for benchmarks that tune them (not part of the API). */
export const tuning: { cross?: { RA: number; RB: number }; grad?: { GA: number; GB: number }; wg?: [number, number] } = {};

function gradBlocking(): { GA: number; GB: number } {
  return tuning.grad ?? { GA: 4, GB: 4 };
}

function workgroupFor(B: number): [number, number] {
  if (tuning.wg) return tuning.wg;
  // Small batches: smaller workgroups so that several run in parallel.
  return B >= 128 ? [8, 8] : [4, 4];
}

const BINDINGS: Record<Entry, BindingKind[]> = {
  prep: ['uniform', 'read', 'read', 'rw', 'rw'],
  cross: ['uniform', 'read', 'read', 'rw', 'rw'],
  pair: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  grad_m: ['uniform', 'read', 'read', 'read', 'read', 'rw'],
  grad_a: ['uniform', 'read', 'read', 'read', 'read', 'rw'],
};

function kernel(entry: Entry, K: number, wg: [number, number]): Kernel {
  const { RA, RB } = crossBlocking(K);
  const { GA, GB } = gradBlocking();
  const Km = K - 1;
  const NP = (K * (K + 1)) / 2;
  const NU = (Km * (Km + 1)) / 2;
  return {
    name: `gram_${entry}`,
    key: `gram:${entry}:K${K}:${wg[0]}x${wg[1]}:${RA}.${RB}.${GA}.${GB}`,
    bindings: BINDINGS[entry],
    entryPoint: entry,
    code: () =>
      wgsl(template, {
        K,
        KM: Km,
        KK: K * K,
        AUXS: K + K * K,
        USTR: Km * Km + Km,
        NP,
        NP64: NP * 64,
        NU,
        NUR: NU + Km,
        NUR64: (NU + Km) * 64,
        KMKM: Km * Km,
        RA,
        RB,
        RAKM: RA * Km,
        RARBKM: RA * RB * Km,
        WX: wg[0],
        WY: wg[1],
        GA,
        GB,
        GAGB: GA * GB,
        GWX: wg[0],
        GWY: wg[1],
        DET_FNS: detFunctions(K),
      }),
  };
}

/** Buffers of one forward pass (all pooled; the caller owns and frees them). */
export interface GramPrepBuffers {
  B: number;
  K: number;
  D: number;
  /** Padded row length (multiple of 4) of `hat`. */
  D4: number;
  hat: GPUBuffer;
  aux: GPUBuffer;
}

function params(B: number, D: number, D4: number, o: { aOff?: number; oOff?: number; gOff?: number; mode?: number; eps?: number; scale?: number; smooth?: number; c?: number } = {}): ArrayBuffer {
  return new Params()
    .u32(B, D, D4, o.aOff ?? 0)
    .u32(o.oOff ?? 0, o.gOff ?? 0, o.mode ?? 0, 0)
    .f32(o.eps ?? 0, o.scale ?? 1, o.smooth ?? 0, o.c ?? 0)
    .build();
}

export function padD(D: number): number {
  return Math.max(4, Math.ceil(D / 4) * 4);
}

/** anchor [B, D] and others [B, K−1, D], both contiguous views (offsets honoured). */
export function runGramPrep(rt: GpuRuntime, a: View, o: View, B: number, K: number, D: number, eps: number): GramPrepBuffers {
  const D4 = padD(D);
  const hat = rt.alloc(B * K * D4 * 4, `gram normalized vectors ${shapeStr([B, K, D4])}`);
  const aux = rt.alloc(B * (K + K * K) * 4, `gram per-sample Grams ${shapeStr([B, K + K * K])}`);
  const p = params(B, D, D4, { aOff: a.offset, oOff: o.offset, eps });
  rt.dispatch(kernel('prep', K, [1, 1]), p, [a.storage.handle as GPUBuffer, o.storage.handle as GPUBuffer, hat, aux], grid1D(B, 1, rt.limits.maxComputeWorkgroupsPerDimension), `anchor ${shapeStr(a.shape)} others ${shapeStr(o.shape)}`);
  return { B, K, D, D4, hat, aux };
}

/** V [B, B] and C [B, B, K−1]. */
export function runGramCross(rt: GpuRuntime, pr: GramPrepBuffers): { V: GPUBuffer; C: GPUBuffer } {
  const { B, K, D, D4 } = pr;
  const { RA, RB } = crossBlocking(K);
  const wg = workgroupFor(B);
  const V = rt.alloc(B * B * 4, `gram volumes ${shapeStr([B, B])}`);
  const C = rt.alloc(B * B * (K - 1) * 4, `gram cross products ${shapeStr([B, B, K - 1])}`);
  const gx = Math.ceil(B / (wg[0] * RB));
  const gy = Math.ceil(B / (wg[1] * RA));
  checkGrid(rt, 'gram_cross', gx, gy);
  rt.dispatch(kernel('cross', K, wg), params(B, D, D4), [pr.hat, pr.aux, V, C], [gx, gy], `B=${B} K=${K} D=${D}`);
  return { V, C };
}

/**
 * The per-pair backward. `grad`: dL/dV (contiguous [B, B] view). `contrastive`: the upstream scalar
 * gradient view, the contrastive stats buffer (lr, lc), the logit scale, smoothing and factor c.
 */
export function runGramPair(
  rt: GpuRuntime,
  pr: GramPrepBuffers,
  C: GPUBuffer,
  src: { kind: 'grad'; gV: View } | { kind: 'contrastive'; g: View; stats: GPUBuffer; scale: number; smooth: number; c: number },
): { WT: GPUBuffer; U: GPUBuffer } {
  const { B, K, D, D4 } = pr;
  const Km = K - 1;
  const WT = rt.alloc(B * B * (Km + 2) * 4, `gram pair coefficients ${shapeStr([B * (Km + 2), B])}`);
  const U = rt.alloc(B * (Km * Km + Km) * 4, `gram per-sample coefficients ${shapeStr([B, Km * Km + Km])}`);
  const contrastive = src.kind === 'contrastive';
  const g = contrastive ? src.g : src.gV;
  const p = params(B, D, D4, contrastive ? { gOff: g.offset, mode: 1, scale: src.scale, smooth: src.smooth, c: src.c } : { gOff: g.offset, mode: 0 });
  const stats = contrastive ? src.stats : pr.aux; // unused in GRAD mode; any read buffer will do
  rt.dispatch(kernel('pair', K, [1, 1]), p, [C, pr.aux, g.storage.handle as GPUBuffer, stats, WT, U], grid1D(B, 1, rt.limits.maxComputeWorkgroupsPerDimension), `B=${B} K=${K}`);
  return { WT, U };
}

/** dL/d others [B, K−1, D] (contiguous). */
export function runGramGradOthers(rt: GpuRuntime, pr: GramPrepBuffers, WT: GPUBuffer, U: GPUBuffer, eps: number): GPUBuffer {
  const { B, K, D, D4 } = pr;
  const rows = B * (K - 1);
  const wg = workgroupFor(B);
  const { GA, GB } = gradBlocking();
  const out = rt.alloc(rows * D * 4, `gram d(others) ${shapeStr([B, K - 1, D])}`);
  const gx = Math.ceil(D4 / 4 / (wg[0] * GB));
  const gy = Math.ceil(rows / (wg[1] * GA));
  checkGrid(rt, 'gram_grad_m', gx, gy);
  rt.dispatch(kernel('grad_m', K, wg), params(B, D, D4, { eps }), [WT, pr.hat, U, pr.aux, out], [gx, gy], `B=${B} K=${K} D=${D}`);
  return out;
}

/** dL/d anchor [B, D] (contiguous). */
export function runGramGradAnchor(rt: GpuRuntime, pr: GramPrepBuffers, WT: GPUBuffer, U: GPUBuffer, eps: number): GPUBuffer {
  const { B, K, D, D4 } = pr;
  const wg = workgroupFor(B);
  const { GA, GB } = gradBlocking();
  const out = rt.alloc(B * D * 4, `gram d(anchor) ${shapeStr([B, D])}`);
  const gx = Math.ceil(D4 / 4 / (wg[0] * GB));
  const gy = Math.ceil(B / (wg[1] * GA));
  checkGrid(rt, 'gram_grad_a', gx, gy);
  rt.dispatch(kernel('grad_a', K, wg), params(B, D, D4, { eps }), [WT, pr.hat, U, pr.aux, out], [gx, gy], `B=${B} K=${K} D=${D}`);
  return out;
}

function checkGrid(rt: GpuRuntime, name: string, gx: number, gy: number): void {
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  if (gx > max || gy > max) throw new GpuError(`${name}: ${gx}×${gy} workgroups exceed the adapter's ${max} per dimension; use a smaller batch`);
}
