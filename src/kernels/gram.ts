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

// ---- generated matmul-like kernels -----------------------------------------------------------------

/** Register blocking of the generated kernels: rows × columns per invocation. */
export interface Blocking {
  /** cross / grad_m: samples per invocation (its KM rows each); grad_a: anchors per invocation. */
  rows: number;
  /** cross: anchors per invocation; grad_m / grad_a: feature columns per invocation. */
  cols: number;
}

/** Overrides of the blocking choices, for benchmarks that tune them (not part of the API). */
export const tuning: { cross?: Blocking; gradM?: Blocking; gradA?: Blocking; maxWg?: number } = {};

/** ~16 rows × 16 columns of scalar accumulators: the fastest shape measured on lavapipe. */
export function blocking(kind: 'cross' | 'gradM' | 'gradA', K: number): Blocking {
  const t = tuning[kind];
  if (t) return t;
  const Km = K - 1;
  if (kind === 'gradA') return { rows: 16, cols: 16 };
  return { rows: Math.max(1, Math.floor(16 / Km)), cols: 16 };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * cross: invocation (gx, gy) owns samples s0 = gy·RS .. +RS (their KM rows each) and anchors
 * j0 = gx·RB .. +RB. Straight-line: RS·KM + RB loads per feature for RS·KM·RB FMAs. The epilogue
 * scales by the inverse norms, writes C, then forms each pair's Gram from C and Aux and its
 * determinant in a loop (one det_g call site keeps the code small for large K).
 */
function wgslCross(K: number, b: Blocking, wg: [number, number]): string {
  const Km = K - 1;
  const RS = b.rows;
  const RB = b.cols;
  const L: string[] = [];
  L.push('@group(0) @binding(1) var<storage, read> cr_A: array<f32>;');
  L.push('@group(0) @binding(2) var<storage, read> cr_O: array<f32>;');
  L.push('@group(0) @binding(3) var<storage, read> cr_Aux: array<f32>;');
  L.push('@group(0) @binding(4) var<storage, read_write> cr_V: array<f32>;');
  L.push('@group(0) @binding(5) var<storage, read_write> cr_C: array<f32>;');
  L.push('');
  L.push(`@compute @workgroup_size(${wg[0]}, ${wg[1]})`);
  L.push('fn cross(@builtin(global_invocation_id) gid: vec3<u32>) {');
  L.push('  let B = P.B;');
  L.push('  let D = P.D;');
  L.push(`  let s0 = gid.y * ${RS}u;`);
  L.push(`  let j0 = gid.x * ${RB}u;`);
  L.push('  if (s0 >= B || j0 >= B) { return; }');
  for (const s of range(RS)) for (const k of range(Km)) L.push(`  let mo${s}_${k} = P.o_off + (min(s0 + ${s}u, B - 1u) * KM + ${k}u) * D;`);
  for (const j of range(RB)) L.push(`  let ao${j} = P.a_off + min(j0 + ${j}u, B - 1u) * D;`);
  for (const s of range(RS)) for (const k of range(Km)) for (const j of range(RB)) L.push(`  var c${s}_${k}_${j} = 0.0;`);
  L.push('  for (var d = 0u; d < D; d++) {');
  for (const j of range(RB)) L.push(`    let a${j} = cr_A[ao${j} + d];`);
  for (const s of range(RS)) {
    for (const k of range(Km)) {
      L.push(`    let m${s}_${k} = cr_O[mo${s}_${k} + d];`);
      for (const j of range(RB)) L.push(`    c${s}_${k}_${j} = fma(m${s}_${k}, a${j}, c${s}_${k}_${j});`);
    }
  }
  L.push('  }');
  // Clamped rows / columns hold copies of row / column B − 1, owned by this same invocation:
  // storing them at the clamped index rewrites the same value, so no store needs a guard.
  for (const j of range(RB)) L.push(`  let jc${j} = min(j0 + ${j}u, B - 1u);`);
  for (const j of range(RB)) L.push(`  let ia${j} = 1.0 / max(cr_Aux[jc${j} * AUXS], P.eps);`);
  for (const s of range(RS)) {
    L.push(`  let i${s} = min(s0 + ${s}u, B - 1u);`);
    for (const k of range(Km)) L.push(`  let im${s}_${k} = 1.0 / max(cr_Aux[i${s} * AUXS + ${1 + k}u], P.eps);`);
    for (const j of range(RB)) for (const k of range(Km)) L.push(`  cr_C[(i${s} * B + jc${j}) * KM + ${k}u] = c${s}_${k}_${j} * (im${s}_${k} * ia${j});`);
  }
  L.push(`  for (var s = 0u; s < ${RS}u; s++) {`);
  L.push('    let i = s0 + s;');
  L.push('    if (i >= B) { break; }');
  L.push('    var g: array<f32, KK>;');
  L.push('    for (var k = 1u; k < K; k++) {');
  L.push('      for (var l = 1u; l < K; l++) { g[k * K + l] = cr_Aux[i * AUXS + K + k * K + l]; }');
  L.push('    }');
  L.push(`    for (var t = 0u; t < ${RB}u; t++) {`);
  L.push('      let j = j0 + t;');
  L.push('      if (j >= B) { break; }');
  L.push('      g[0] = cr_Aux[j * AUXS + K];');
  L.push('      for (var k = 0u; k < KM; k++) {');
  L.push('        let c = cr_C[(i * B + j) * KM + k];');
  L.push('        g[1u + k] = c;');
  L.push('        g[(1u + k) * K] = c;');
  L.push('      }');
  L.push('      cr_V[i * B + j] = sqrt(max(det_g(g), VOL_CLAMP));');
  L.push('    }');
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

const GM_BINDINGS = `@group(0) @binding(1) var<storage, read> gm_WT: array<f32>;
@group(0) @binding(2) var<storage, read> gm_A: array<f32>;
@group(0) @binding(3) var<storage, read> gm_O: array<f32>;
@group(0) @binding(4) var<storage, read> gm_U: array<f32>;
@group(0) @binding(5) var<storage, read> gm_Aux: array<f32>;
@group(0) @binding(6) var<storage, read_write> gm_out: array<f32>;`;

/**
 * grad_m: invocation owns samples s0 = gy·RS .. +RS (rows (i, k), KM per sample) × features
 * d0 = gx·CB .. +CB. dm̂_ik[d] = Σ_j W[(i,k), j] â_j[d] + 2 Σ_l U_ikl m̂_il[d], then the
 * normalization backward with r_ik = m̂_ik·dm̂_ik from the pair kernel.
 */
function wgslGradM(K: number, b: Blocking, wg: [number, number]): string {
  const Km = K - 1;
  const RS = b.rows;
  const CB = b.cols;
  const L: string[] = [];
  L.push(`@compute @workgroup_size(${wg[0]}, ${wg[1]})`);
  L.push('fn grad_m(@builtin(global_invocation_id) gid: vec3<u32>) {');
  L.push('  let B = P.B;');
  L.push('  let D = P.D;');
  L.push(`  let s0 = gid.y * ${RS}u;`);
  L.push(`  let d0 = gid.x * ${CB}u;`);
  L.push('  if (s0 >= B || d0 >= D) { return; }');
  for (const s of range(RS)) for (const k of range(Km)) L.push(`  let wr${s}_${k} = (min(s0 + ${s}u, B - 1u) * KM + ${k}u) * B;`);
  for (const c of range(CB)) L.push(`  let dd${c} = min(d0 + ${c}u, D - 1u);`);
  for (const s of range(RS)) for (const k of range(Km)) for (const c of range(CB)) L.push(`  var g${s}_${k}_${c} = 0.0;`);
  L.push('  for (var j = 0u; j < B; j++) {');
  L.push('    let ia = 1.0 / max(gm_Aux[j * AUXS], P.eps);');
  L.push('    let ab = P.a_off + j * D;');
  for (const c of range(CB)) L.push(`    let a${c} = gm_A[ab + dd${c}] * ia;`);
  for (const s of range(RS)) {
    for (const k of range(Km)) {
      L.push(`    let w${s}_${k} = gm_WT[wr${s}_${k} + j];`);
      for (const c of range(CB)) L.push(`    g${s}_${k}_${c} = fma(w${s}_${k}, a${c}, g${s}_${k}_${c});`);
    }
  }
  L.push('  }');
  // Branch-free epilogue: clamped rows / columns rewrite their own copies (see cross).
  for (const c of range(CB)) L.push(`  let od${c} = dd${c};`);
  for (const s of range(RS)) {
    L.push(`  let i${s} = min(s0 + ${s}u, B - 1u);`);
    L.push(`  let ub${s} = i${s} * USTR;`);
    for (const k of range(Km)) {
      L.push(`  let n${s}_${k} = gm_Aux[i${s} * AUXS + ${1 + k}u];`);
      L.push(`  let im${s}_${k} = 1.0 / max(n${s}_${k}, P.eps);`);
      // below eps the normalization is x / eps: no radial projection
      L.push(`  let rr${s}_${k} = select(gm_U[ub${s} + ${Km * Km + k}u], 0.0, n${s}_${k} < P.eps);`);
      for (const l of range(Km)) L.push(`  let u${s}_${k}_${l} = 2.0 * gm_U[ub${s} + ${k * Km + l}u];`);
    }
    for (const c of range(CB)) {
      for (const l of range(Km)) L.push(`  let h${s}_${l}_${c} = gm_O[P.o_off + (i${s} * KM + ${l}u) * D + od${c}] * im${s}_${l};`);
      for (const k of range(Km)) {
        const terms = range(Km).map((l) => `u${s}_${k}_${l} * h${s}_${l}_${c}`).join(' + ');
        L.push(`  gm_out[(i${s} * KM + ${k}u) * D + od${c}] = (g${s}_${k}_${c} + ${terms} - h${s}_${k}_${c} * rr${s}_${k}) * im${s}_${k};`);
      }
    }
  }
  L.push('}');
  return L.join('\n');
}

/**
 * grad_a: invocation owns anchors j0 = gy·RJ .. +RJ × features d0 = gx·CB .. +CB.
 * dâ_j[d] = Σ_{i,k} W[(i,k), j] m̂_ik[d] + 2 (Σ_i T_ij) â_j[d], then the normalization backward
 * with â_j·dâ_j = Σ_i Q_ij.
 */
function wgslGradA(K: number, b: Blocking, wg: [number, number]): string {
  const Km = K - 1;
  const RJ = b.rows;
  const CB = b.cols;
  const L: string[] = [];
  L.push(`@compute @workgroup_size(${wg[0]}, ${wg[1]})`);
  L.push('fn grad_a(@builtin(global_invocation_id) gid: vec3<u32>) {');
  L.push('  let B = P.B;');
  L.push('  let D = P.D;');
  L.push(`  let j0 = gid.y * ${RJ}u;`);
  L.push(`  let d0 = gid.x * ${CB}u;`);
  L.push('  if (j0 >= B || d0 >= D) { return; }');
  for (const a of range(RJ)) L.push(`  let ja${a} = min(j0 + ${a}u, B - 1u);`);
  for (const c of range(CB)) L.push(`  let dd${c} = min(d0 + ${c}u, D - 1u);`);
  for (const a of range(RJ)) for (const c of range(CB)) L.push(`  var g${a}_${c} = 0.0;`);
  L.push('  for (var i = 0u; i < B; i++) {');
  for (const k of range(Km)) {
    L.push(`    let r${k} = i * KM + ${k}u;`);
    L.push(`    let im${k} = 1.0 / max(gm_Aux[i * AUXS + ${1 + k}u], P.eps);`);
    for (const c of range(CB)) L.push(`    let m${k}_${c} = gm_O[P.o_off + r${k} * D + dd${c}] * im${k};`);
    for (const a of range(RJ)) {
      L.push(`    let w${k}_${a} = gm_WT[r${k} * B + ja${a}];`);
      for (const c of range(CB)) L.push(`    g${a}_${c} = fma(w${k}_${a}, m${k}_${c}, g${a}_${c});`);
    }
  }
  L.push('  }');
  L.push('  let t_off = B * KM * B;');
  L.push('  let q_off = t_off + B * B;');
  for (const a of range(RJ)) L.push(`  var ts${a} = 0.0;\n  var qs${a} = 0.0;`);
  L.push('  for (var i = 0u; i < B; i++) {');
  for (const a of range(RJ)) L.push(`    ts${a} += gm_WT[t_off + i * B + ja${a}];\n    qs${a} += gm_WT[q_off + i * B + ja${a}];`);
  L.push('  }');
  for (const a of range(RJ)) {
    L.push(`  let n${a} = gm_Aux[ja${a} * AUXS];`);
    L.push(`  let ia${a} = 1.0 / max(n${a}, P.eps);`);
    L.push(`  let t2_${a} = 2.0 * ts${a};`);
    L.push(`  let q${a} = select(qs${a}, 0.0, n${a} < P.eps);`);
    for (const c of range(CB)) {
      L.push(`  let h${a}_${c} = gm_A[P.a_off + ja${a} * D + dd${c}] * ia${a};`);
      L.push(`  gm_out[ja${a} * D + dd${c}] = (fma(t2_${a}, h${a}_${c}, g${a}_${c}) - h${a}_${c} * q${a}) * ia${a};`);
    }
  }
  L.push('}');
  return L.join('\n');
}

// ---- kernels -------------------------------------------------------------------------------------

type Entry = 'prep' | 'cross' | 'pair' | 'grad_m' | 'grad_a';

const BINDINGS: Record<Entry, BindingKind[]> = {
  prep: ['uniform', 'read', 'read', 'rw'],
  cross: ['uniform', 'read', 'read', 'read', 'rw', 'rw'],
  pair: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  grad_m: ['uniform', 'read', 'read', 'read', 'read', 'read', 'rw'],
  grad_a: ['uniform', 'read', 'read', 'read', 'read', 'read', 'rw'],
};

function kernel(entry: Entry, K: number, wg: [number, number] = [1, 1]): Kernel {
  const Km = K - 1;
  const NP = (K * (K + 1)) / 2;
  const NU = (Km * (Km + 1)) / 2;
  const bc = blocking('cross', K);
  const bm = blocking('gradM', K);
  const ba = blocking('gradA', K);
  const blk = entry === 'cross' ? bc : entry === 'grad_m' ? bm : entry === 'grad_a' ? ba : null;
  return {
    name: `gram_${entry}`,
    key: `gram:${entry}:K${K}:${wg[0]}x${wg[1]}${blk ? `:${blk.rows}x${blk.cols}` : ''}`,
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
        DET_FNS: detFunctions(K),
        CROSS: entry === 'cross' ? wgslCross(K, bc, wg) : '',
        GRAD_M: entry === 'grad_m' ? `${GM_BINDINGS}\n\n${wgslGradM(K, bm, wg)}` : entry === 'grad_a' ? GM_BINDINGS : '',
        GRAD_A: entry === 'grad_a' ? wgslGradA(K, ba, wg) : '',
      }),
  };
}

/**
 * Workgroup shape for a grid of gx × gy invocations: up to 4×4 (measured best on lavapipe),
 * smaller when that leaves fewer than 4 workgroups (small batches: use every core).
 */
function workgroupFor(gx: number, gy: number): [number, number] {
  const max = tuning.maxWg ?? 4;
  let wx = Math.min(max, pow2Floor(gx));
  let wy = Math.min(max, pow2Floor(gy));
  while (wx * wy > 1 && Math.ceil(gx / wx) * Math.ceil(gy / wy) < 4) {
    if (wx >= wy && wx > 1) wx /= 2;
    else wy /= 2;
  }
  return [wx, wy];
}

function pow2Floor(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

function dispatch2D(rt: GpuRuntime, entry: Entry, K: number, p: ArrayBuffer, buffers: GPUBuffer[], gx: number, gy: number, describe: string): void {
  const wg = workgroupFor(gx, gy);
  const x = Math.ceil(gx / wg[0]);
  const y = Math.ceil(gy / wg[1]);
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  if (x > max || y > max) throw new GpuError(`gram_${entry}: ${x}×${y} workgroups exceed the adapter's ${max} per dimension; use a smaller batch`);
  rt.dispatch(kernel(entry, K, wg), p, buffers, [x, y], describe);
}

/** Buffers of one forward pass (all pooled; the caller owns and frees them). */
export interface GramPrepBuffers {
  B: number;
  K: number;
  D: number;
  /** The raw inputs (contiguous, read at their offsets): anchor [B, D], others [B, K−1, D]. */
  a: View;
  o: View;
  /** Per sample: raw norms [K], then the normalized Gram [K, K]. */
  aux: GPUBuffer;
}

function params(B: number, D: number, o: { aOff?: number; oOff?: number; gOff?: number; mode?: number; eps?: number; scale?: number; smooth?: number; c?: number } = {}): ArrayBuffer {
  return new Params()
    .u32(B, D, 0, o.aOff ?? 0)
    .u32(o.oOff ?? 0, o.gOff ?? 0, o.mode ?? 0, 0)
    .f32(o.eps ?? 0, o.scale ?? 1, o.smooth ?? 0, o.c ?? 0)
    .build();
}

function inputParams(pr: GramPrepBuffers, extra: { gOff?: number; mode?: number; eps?: number; scale?: number; smooth?: number; c?: number } = {}): ArrayBuffer {
  return params(pr.B, pr.D, { aOff: pr.a.offset, oOff: pr.o.offset, ...extra });
}

/** anchor [B, D] and others [B, K−1, D], both contiguous views (offsets honoured). */
export function runGramPrep(rt: GpuRuntime, a: View, o: View, B: number, K: number, D: number, eps: number): GramPrepBuffers {
  const aux = rt.alloc(B * (K + K * K) * 4, `gram per-sample Grams ${shapeStr([B, K + K * K])}`);
  const p = params(B, D, { aOff: a.offset, oOff: o.offset, eps });
  rt.dispatch(kernel('prep', K), p, [a.storage.handle as GPUBuffer, o.storage.handle as GPUBuffer, aux], grid1D(B, 1, rt.limits.maxComputeWorkgroupsPerDimension), `anchor ${shapeStr(a.shape)} others ${shapeStr(o.shape)}`);
  return { B, K, D, a, o, aux };
}

const handle = (v: View) => v.storage.handle as GPUBuffer;

/** V [B, B] and C [B, B, K−1]. */
export function runGramCross(rt: GpuRuntime, pr: GramPrepBuffers, eps: number): { V: GPUBuffer; C: GPUBuffer } {
  const { B, K, D } = pr;
  const b = blocking('cross', K);
  const V = rt.alloc(B * B * 4, `gram volumes ${shapeStr([B, B])}`);
  const C = rt.alloc(B * B * (K - 1) * 4, `gram cross products ${shapeStr([B, B, K - 1])}`);
  dispatch2D(rt, 'cross', K, inputParams(pr, { eps }), [handle(pr.a), handle(pr.o), pr.aux, V, C], Math.ceil(B / b.cols), Math.ceil(B / b.rows), `B=${B} K=${K} D=${D}`);
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
  const { B, K } = pr;
  const Km = K - 1;
  const WT = rt.alloc(B * B * (Km + 2) * 4, `gram pair coefficients ${shapeStr([B * (Km + 2), B])}`);
  const U = rt.alloc(B * (Km * Km + Km) * 4, `gram per-sample coefficients ${shapeStr([B, Km * Km + Km])}`);
  const contrastive = src.kind === 'contrastive';
  const g = contrastive ? src.g : src.gV;
  const p = params(B, pr.D, contrastive ? { gOff: g.offset, mode: 1, scale: src.scale, smooth: src.smooth, c: src.c } : { gOff: g.offset, mode: 0 });
  const stats = contrastive ? src.stats : pr.aux; // unused in GRAD mode; any read buffer will do
  rt.dispatch(kernel('pair', K), p, [C, pr.aux, handle(g), stats, WT, U], grid1D(B, 1, rt.limits.maxComputeWorkgroupsPerDimension), `B=${B} K=${K}`);
  return { WT, U };
}

/** dL/d others [B, K−1, D] (contiguous). */
export function runGramGradOthers(rt: GpuRuntime, pr: GramPrepBuffers, WT: GPUBuffer, U: GPUBuffer, eps: number): GPUBuffer {
  const { B, K, D } = pr;
  const b = blocking('gradM', K);
  const out = rt.alloc(B * (K - 1) * D * 4, `gram d(others) ${shapeStr([B, K - 1, D])}`);
  dispatch2D(rt, 'grad_m', K, inputParams(pr, { eps }), [WT, handle(pr.a), handle(pr.o), U, pr.aux, out], Math.ceil(D / b.cols), Math.ceil(B / b.rows), `B=${B} K=${K} D=${D}`);
  return out;
}

/** dL/d anchor [B, D] (contiguous). */
export function runGramGradAnchor(rt: GpuRuntime, pr: GramPrepBuffers, WT: GPUBuffer, U: GPUBuffer, eps: number): GPUBuffer {
  const { B, K, D } = pr;
  const b = blocking('gradA', K);
  const out = rt.alloc(B * D * 4, `gram d(anchor) ${shapeStr([B, D])}`);
  dispatch2D(rt, 'grad_a', K, inputParams(pr, { eps }), [WT, handle(pr.a), handle(pr.o), U, pr.aux, out], Math.ceil(D / b.cols), Math.ceil(B / b.rows), `B=${B} K=${K} D=${D}`);
  return out;
}
