/**
 * GPU Gram-volume kernels (wgsl/gram.wgsl): the forward (V and the B×B×(K−1) cross products, with
 * the norms and per-sample Grams), pair (per-pair cofactor backward) and the two gradient chains
 * with the normalization backward in their epilogue. The three B×B×(K−1)×D contractions run as
 * generated subgroup kernels with fused epilogues (small problems: fewest dispatches) or as
 * matmuls (src/backend/webgpu/matmul.ts) followed by small epilogue kernels (large problems); see usesMatmul.
 * Specialized per K (2..8): the determinant and cofactor code is generated here in straight-line
 * WGSL (closed forms for n ≤ 3, Gaussian elimination with partial pivoting above).
 */
import template from '../../../wgsl/gram.wgsl';
import { grid1D, type BindingKind, type GpuRuntime, type Kernel } from '../../gpu/runtime.js';
import { Storage, type View } from '../backend.js';
import { runMatmul } from './matmul.js';
import { Params, wgsl } from './source.js';
import { GpuError, shapeStr } from '../../gpu/errors.js';

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
//
// cross, grad_m and grad_a are three small matmuls with fused epilogues. Each workgroup is one
// subgroup of S lanes (S = the adapter's fixed subgroup size, 8 on lavapipe): a block of ROWS
// shared rows (uniform across the subgroup) × S·COLS columns, lane l owning columns
// base + b·S + l. Per reduction chunk of S, each lane loads one element of every shared row (so a
// row element is loaded once per subgroup, not once per lane) and the S values are broadcast
// lane by lane (subgroupBroadcast with a constant lane: one register shuffle). A lane then loads
// only its own COLS column values per reduction step: ROWS·COLS FMAs per COLS + ROWS/S loads.
// On lavapipe a storage load costs ~20 FMAs, so this beats any workgroup-memory tiling, and its
// 32 accumulators compile in about a second (16×16 scalar blocks, as fast, take ~10 s).
// Without subgroups (or with a variable subgroup size) the same code runs with S = 1: every
// invocation its own "subgroup", 64 per workgroup, no broadcast — correct everywhere, slower.

/** Register blocking of the generated kernels. */
export interface Blocking {
  /** Shared rows per subgroup: cross / grad_m samples (KM rows each), grad_a anchors. */
  rows: number;
  /** Columns per lane. */
  cols: number;
}

/** Overrides of the blocking / lane choices, for benchmarks that tune them (not part of the API). */
// `path` forces one contraction path (tests run both on small shapes).
export const tuning: { cross?: Blocking; gradM?: Blocking; gradA?: Blocking; noSubgroups?: boolean; path?: 'generated' | 'matmul' } = {};

export function blocking(kind: 'cross' | 'gradM' | 'gradA', K: number): Blocking {
  const t = tuning[kind];
  if (t) return t;
  const Km = K - 1;
  if (kind === 'gradA') return { rows: 16, cols: 2 };
  return { rows: Math.max(1, Math.floor(16 / Km)), cols: 2 };
}

/** Lanes: S cooperating lanes per subgroup (S = 1: no subgroup ops) and the workgroup size. */
export interface Lanes {
  S: number;
  wg: number;
}

/** The subgroup layout this runtime supports: a fixed subgroup size ≤ 64, else S = 1. */
export function lanesFor(rt: GpuRuntime): Lanes {
  const info = (rt.device as unknown as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  const min = info?.subgroupMinSize ?? 0;
  const max = info?.subgroupMaxSize ?? 0;
  if (!tuning.noSubgroups && rt.device.features.has('subgroups' as GPUFeatureName) && min > 0 && min === max && max <= 64) return { S: min, wg: min };
  return { S: 1, wg: 64 };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function laneIdx(ln: Lanes): string {
  return ln.S > 1 ? 'sl' : 'lid';
}

/** Stores n accumulators (names from `name(q)`) to this lane's slots of workgroup memory `stage`. */
function stageAccumulators(ln: Lanes, n: number, name: (q: number) => string): string[] {
  return range(n).map((q) => `  stage[${q * ln.wg}u + ${laneIdx(ln)}] = ${name(q)};`);
}

/** The workgroup-memory staging array of a generated kernel. */
function stageDecl(ln: Lanes, n: number): string {
  return `var<workgroup> stage: array<f32, ${n * ln.wg}>;`;
}

function entryHead(name: string, ln: Lanes): string {
  const lane = ln.S > 1 ? '@builtin(subgroup_invocation_id) sl: u32' : '@builtin(local_invocation_index) lid: u32';
  return `@compute @workgroup_size(${ln.wg})\nfn ${name}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ${lane}) {`;
}

/** Column c of lane `b` (0..COLS−1) and the lane's first-column base, per lane mode. */
function colExpr(ln: Lanes, cols: number, b: number): string {
  return ln.S > 1 ? `cbase + ${b * ln.S}u + sl` : `cbase + lid * ${cols}u + ${b}u`;
}

function bcast(ln: Lanes, v: string, t: number): string {
  return ln.S > 1 ? `subgroupBroadcast(${v}, ${t}u)` : v;
}

/** The chunked reduction loop: per chunk of S, lane `sl` loads index `red0 + sl`. */
function chunkLoop(ln: Lanes, n: string, body: (L: string[]) => void, perT: (t: number, L: string[]) => void): string[] {
  const L: string[] = [];
  L.push(`  for (var red0 = 0u; red0 < ${n}; red0 += ${ln.S}u) {`);
  L.push(ln.S > 1 ? `    let redl = min(red0 + sl, ${n} - 1u);\n    let redok = red0 + sl < ${n};` : '    let redl = red0;\n    let redok = true;');
  body(L);
  for (const t of range(ln.S)) {
    L.push('    {');
    L.push(`      let redt = min(red0 + ${t}u, ${n} - 1u);`);
    perT(t, L);
    L.push('    }');
  }
  L.push('  }');
  return L;
}

/**
 * cross: shared rows = RS samples' KM others rows; lane columns = anchors. On the side it sums the
 * rows' raw Gram (lane partials over its share of d, then subgroupAdd) and each lane's anchor
 * norms, so no separate prep pass is needed: workgroups of column block 0 store their samples'
 * norms and Grams to Aux, those of row block 0 their anchors' (for the backward). After the loop
 * each pair goes to store_pair (gram.wgsl).
 */
function wgslCross(K: number, b: Blocking, ln: Lanes): string {
  const Km = K - 1;
  const NU = (Km * (Km + 1)) / 2;
  const RS = b.rows;
  const CB = b.cols;
  const pairsU: [number, number][] = [];
  for (let k = 0; k < Km; k++) for (let l = k; l < Km; l++) pairsU.push([k, l]);
  const lane = laneIdx(ln);
  const L: string[] = [];
  L.push(stageDecl(ln, RS * Km * CB));
  L.push(`var<workgroup> stage2: array<f32, ${(RS * NU + CB) * ln.wg}>;`);
  L.push('');
  L.push(entryHead('cross', ln));
  L.push('  let B = P.B;');
  L.push('  let D = P.D;');
  L.push(`  let s0 = wid.y * ${RS}u;`);
  L.push(`  let cbase = wid.x * ${ln.wg * CB}u;`);
  for (const c of range(CB)) L.push(`  let j${c} = ${colExpr(ln, CB, c)};\n  let ao${c} = P.a_off + min(j${c}, B - 1u) * D;`);
  for (const s of range(RS)) for (const k of range(Km)) L.push(`  let mo${s}_${k} = P.o_off + (min(s0 + ${s}u, B - 1u) * KM + ${k}u) * D;`);
  for (const s of range(RS)) for (const k of range(Km)) for (const c of range(CB)) L.push(`  var c${s}_${k}_${c} = 0.0;`);
  for (const s of range(RS)) for (const u of range(NU)) L.push(`  var q${s}_${u} = 0.0;`);
  for (const c of range(CB)) L.push(`  var na${c} = 0.0;`);
  L.push(
    ...chunkLoop(
      ln,
      'D',
      (B_) => {
        for (const s of range(RS)) for (const k of range(Km)) B_.push(`    let x${s}_${k} = select(0.0, cr_O[mo${s}_${k} + redl], redok);`);
        for (const s of range(RS)) pairsU.forEach(([k, l], u) => B_.push(`    q${s}_${u} = fma(x${s}_${k}, x${s}_${l}, q${s}_${u});`));
      },
      (t, B_) => {
        B_.push(`      let am = select(0.0, 1.0, red0 + ${t}u < D);`); // the clamped tail adds nothing to the norms
        for (const c of range(CB)) B_.push(`      let a${c} = cr_A[ao${c} + redt];\n      na${c} = fma(a${c} * am, a${c}, na${c});`);
        for (const s of range(RS)) {
          for (const k of range(Km)) {
            B_.push(`      let xb${s}_${k} = ${bcast(ln, `x${s}_${k}`, t)};`);
            for (const c of range(CB)) B_.push(`      c${s}_${k}_${c} = fma(xb${s}_${k}, a${c}, c${s}_${k}_${c});`);
          }
        }
      },
    ),
  );
  // Epilogue: the accumulators go to workgroup memory (straight-line, branch-free, one slot per
  // lane), then rolled loops (runtime bounds) do the rest. Every storage access costs lavapipe a
  // per-lane branch ladder in code size, so no straight-line storage accesses after the main loop:
  // this keeps compile times around a second.
  L.push(...stageAccumulators(ln, RS * Km * CB, (q) => `c${Math.floor(q / (Km * CB))}_${Math.floor(q / CB) % Km}_${q % CB}`));
  for (const s of range(RS)) for (const u of range(NU)) L.push(`  stage2[${(s * NU + u) * ln.wg}u + ${lane}] = ${ln.S > 1 ? `subgroupAdd(q${s}_${u})` : `q${s}_${u}`};`);
  for (const c of range(CB)) L.push(`  stage2[${(RS * NU + c) * ln.wg}u + ${lane}] = na${c};`);
  L.push('  for (var s = 0u; s < P.blk_rows; s++) {');
  L.push('    let i = s0 + s;');
  L.push('    if (i >= B) { break; }');
  L.push(`    var rg: array<f32, ${Km * Km}>;`);
  L.push('    var u = 0u;');
  L.push('    for (var k = 0u; k < KM; k++) {');
  L.push('      for (var l = k; l < KM; l++) {');
  L.push(`        let v = stage2[(s * ${NU}u + u) * ${ln.wg}u + ${lane}];`);
  L.push('        rg[k * KM + l] = v;');
  L.push('        rg[l * KM + k] = v;');
  L.push('        u++;');
  L.push('      }');
  L.push('    }');
  L.push('    var g: array<f32, KK>;');
  L.push('    var im: array<f32, KM>;');
  L.push(`    let rowOwner = wid.x == 0u && ${lane} == 0u;`);
  L.push('    for (var k = 0u; k < KM; k++) {');
  L.push('      im[k] = 1.0 / max(sqrt(rg[k * KM + k]), P.eps);');
  L.push('      if (rowOwner) { cr_Aux[i * AUXS + 1u + k] = sqrt(rg[k * KM + k]); }');
  L.push('      for (var l = 0u; l < KM; l++) {');
  L.push('        let v = norm_gram(rg[k * KM + l], rg[k * KM + k], rg[l * KM + l], k == l);');
  L.push('        g[(1u + k) * K + 1u + l] = v;');
  L.push('        if (rowOwner) { cr_Aux[i * AUXS + K + (1u + k) * K + 1u + l] = v; }');
  L.push('      }');
  L.push('    }');
  L.push('    for (var c = 0u; c < P.blk_cols; c++) {');
  L.push(`      let j = ${colLoop(ln, CB)};`);
  L.push('      if (j >= B) { continue; }');
  L.push(`      let an = stage2[(${RS * NU}u + c) * ${ln.wg}u + ${lane}];`);
  L.push('      g[0] = norm_gram(an, an, an, true);');
  L.push('      if (wid.y == 0u && s == 0u) {');
  L.push('        cr_Aux[j * AUXS] = sqrt(an);');
  L.push('        cr_Aux[j * AUXS + K] = g[0];');
  L.push('      }');
  L.push('      var raw: array<f32, KM>;');
  L.push(`      for (var k = 0u; k < KM; k++) { raw[k] = stage[((s * KM + k) * ${CB}u + c) * ${ln.wg}u + ${lane}]; }`);
  L.push('      store_pair(i, j, raw, g, 1.0 / max(sqrt(an), P.eps), im);');
  L.push('    }');
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

/** The column loop's index in a generated epilogue (`c` = 0..COLS−1), per lane mode. */
function colLoop(ln: Lanes, cols: number): string {
  return ln.S > 1 ? `cbase + c * ${ln.S}u + sl` : `cbase + lid * ${cols}u + c`;
}

/**
 * grad_m: shared rows = RS samples' rows (i, k); lane columns = features d; the products
 * Σ_j W[(i,k), j] â_j[d] go to grad_m_final (gram.wgsl).
 */
function wgslGradM(K: number, b: Blocking, ln: Lanes): string {
  const Km = K - 1;
  const RS = b.rows;
  const CB = b.cols;
  const L: string[] = [stageDecl(ln, RS * Km * CB)];
  L.push(entryHead('grad_m', ln));
  L.push('  let B = P.B;');
  L.push('  let D = P.D;');
  // the extra row of workgroups: the column sums of T and Q for grad_a (uniform per workgroup)
  L.push(`  if (wid.y == (B + ${RS - 1}u) / ${RS}u) {`);
  L.push(`    for (var j = wid.x * ${ln.wg}u + ${laneIdx(ln)}; j < B; j += nwg.x * ${ln.wg}u) { colsum_at(j); }`);
  L.push('    return;');
  L.push('  }');
  L.push(`  let s0 = wid.y * ${RS}u;`);
  L.push(`  let cbase = wid.x * ${ln.wg * CB}u;`);
  for (const c of range(CB)) L.push(`  let d${c} = ${colExpr(ln, CB, c)};\n  let dd${c} = min(d${c}, D - 1u);`);
  for (const s of range(RS)) for (const k of range(Km)) L.push(`  let wr${s}_${k} = (min(s0 + ${s}u, B - 1u) * KM + ${k}u) * B;`);
  for (const s of range(RS)) for (const k of range(Km)) for (const c of range(CB)) L.push(`  var g${s}_${k}_${c} = 0.0;`);
  L.push(
    ...chunkLoop(
      ln,
      'B',
      (B_) => {
        for (const s of range(RS)) for (const k of range(Km)) B_.push(`    let w${s}_${k} = select(0.0, gm_WT[wr${s}_${k} + redl], redok);`);
        B_.push('    let ial = 1.0 / max(gm_Aux[redl * AUXS], P.eps);');
      },
      (t, B_) => {
        B_.push(`      let ia = ${bcast(ln, 'ial', t)};`);
        B_.push('      let ab = P.a_off + redt * D;');
        for (const c of range(CB)) B_.push(`      let a${c} = gm_A[ab + dd${c}] * ia;`);
        for (const s of range(RS)) {
          for (const k of range(Km)) {
            B_.push(`      let wb${s}_${k} = ${bcast(ln, `w${s}_${k}`, t)};`);
            for (const c of range(CB)) B_.push(`      g${s}_${k}_${c} = fma(wb${s}_${k}, a${c}, g${s}_${k}_${c});`);
          }
        }
      },
    ),
  );
  // Epilogue: accumulators to workgroup memory, then one rolled loop (see cross).
  L.push(...stageAccumulators(ln, RS * Km * CB, (q) => `g${Math.floor(q / (Km * CB))}_${Math.floor(q / CB) % Km}_${q % CB}`));
  L.push('  for (var s = 0u; s < P.blk_rows; s++) {');
  L.push('    let i = s0 + s;');
  L.push('    if (i >= B) { break; }');
  L.push('    let sc = sample_coef(i);');
  L.push('    for (var c = 0u; c < P.blk_cols; c++) {');
  L.push(`      let d = ${colLoop(ln, CB)};`);
  L.push('      if (d >= D) { continue; }');
  L.push('      let h = others_hat(i, d, sc);');
  L.push('      for (var k = 0u; k < KM; k++) {');
  L.push(`        gm_out[(i * KM + k) * D + d] = grad_m_final(k, stage[((s * KM + k) * ${CB}u + c) * ${ln.wg}u + ${laneIdx(ln)}], h, sc);`);
  L.push('      }');
  L.push('    }');
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

/**
 * grad_a: shared rows = RJ anchors; lane columns = features d; reduction over the B·KM rows
 * (i, k); the products Σ_{i,k} W[(i,k), j] m̂_ik[d] go to grad_a_final (gram.wgsl).
 */
function wgslGradA(K: number, b: Blocking, ln: Lanes): string {
  const RJ = b.rows;
  const CB = b.cols;
  const L: string[] = [stageDecl(ln, RJ * CB)];
  L.push(entryHead('grad_a', ln));
  L.push('  let B = P.B;');
  L.push('  let D = P.D;');
  L.push('  let R = B * KM;');
  L.push(`  let j0 = wid.y * ${RJ}u;`);
  L.push(`  let cbase = wid.x * ${ln.wg * CB}u;`);
  for (const c of range(CB)) L.push(`  let d${c} = ${colExpr(ln, CB, c)};\n  let dd${c} = min(d${c}, D - 1u);`);
  for (const a of range(RJ)) L.push(`  let ja${a} = min(j0 + ${a}u, B - 1u);`);
  L.push('  let wt_off = B * KM * B + 2u * B * B;');
  for (const a of range(RJ)) for (const c of range(CB)) L.push(`  var g${a}_${c} = 0.0;`);
  L.push(
    ...chunkLoop(
      ln,
      'R',
      (B_) => {
        // Wᵀ rows: lanes read consecutive r (W's own rows would be B floats apart per lane)
        for (const a of range(RJ)) B_.push(`    let w${a} = select(0.0, gm_WT[wt_off + ja${a} * R + redl], redok);`);
        B_.push('    let iml = 1.0 / max(gm_Aux[(redl / KM) * AUXS + 1u + redl % KM], P.eps);');
      },
      (t, B_) => {
        B_.push(`      let im = ${bcast(ln, 'iml', t)};`);
        B_.push('      let mb = P.o_off + redt * D;');
        for (const c of range(CB)) B_.push(`      let m${c} = gm_O[mb + dd${c}] * im;`);
        for (const a of range(RJ)) {
          B_.push(`      let wb${a} = ${bcast(ln, `w${a}`, t)};`);
          for (const c of range(CB)) B_.push(`      g${a}_${c} = fma(wb${a}, m${c}, g${a}_${c});`);
        }
      },
    ),
  );
  L.push(...stageAccumulators(ln, RJ * CB, (q) => `g${Math.floor(q / CB)}_${q % CB}`));
  L.push('  for (var a = 0u; a < P.blk_rows; a++) {');
  L.push('    let j = j0 + a;');
  L.push('    if (j >= B) { break; }');
  L.push('    let ac = anchor_coef(j);');
  L.push('    for (var c = 0u; c < P.blk_cols; c++) {');
  L.push(`      let d = ${colLoop(ln, CB)};`);
  L.push('      if (d >= D) { continue; }');
  L.push(`      gm_out[j * D + d] = grad_a_final(j, d, stage[(a * ${CB}u + c) * ${ln.wg}u + ${laneIdx(ln)}], ac);`);
  L.push('    }');
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

// ---- kernels -------------------------------------------------------------------------------------

type Entry = 'prep' | 'cross' | 'det' | 'pair' | 'colsum' | 'grad_m' | 'grad_a' | 'grad_m_epi' | 'grad_a_epi';

const BINDINGS: Record<Entry, BindingKind[]> = {
  prep: ['uniform', 'read', 'read', 'rw'],
  cross: ['uniform', 'read', 'read', 'rw', 'rw', 'rw'],
  det: ['uniform', 'read', 'read', 'rw', 'rw', 'rw'],
  pair: ['uniform', 'read', 'read', 'read', 'read', 'rw', 'rw'],
  colsum: ['uniform', 'rw'],
  grad_m: ['uniform', 'rw', 'read', 'read', 'read', 'read', 'rw'],
  grad_a: ['uniform', 'rw', 'read', 'read', 'read', 'read', 'rw'],
  grad_m_epi: ['uniform', 'rw', 'read', 'read', 'read', 'read', 'rw'],
  grad_a_epi: ['uniform', 'rw', 'read', 'read', 'read', 'read', 'rw'],
};

function kernel(entry: Entry, K: number, ln: Lanes = { S: 1, wg: 64 }): Kernel {
  const Km = K - 1;
  const NP = (K * (K + 1)) / 2;
  const NU = (Km * (Km + 1)) / 2;
  const bc = blocking('cross', K);
  const bm = blocking('gradM', K);
  const ba = blocking('gradA', K);
  const blk = entry === 'cross' ? bc : entry === 'grad_m' ? bm : entry === 'grad_a' ? ba : null;
  return {
    name: `gram_${entry}`,
    key: `gram:${entry}:K${K}${blk ? `:S${ln.S}:${blk.rows}x${blk.cols}` : ''}`,
    bindings: BINDINGS[entry],
    entryPoint: entry,
    code: () =>
      (blk && ln.S > 1 ? 'enable subgroups;\n' : '') +
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
        CROSS: entry === 'cross' ? wgslCross(K, bc, ln) : '',
        GRAD_M: entry === 'grad_m' ? wgslGradM(K, bm, ln) : '',
        GRAD_A: entry === 'grad_a' ? wgslGradA(K, ba, ln) : '',
      }),
  };
}

/**
 * Dispatches a generated kernel over rows (shared, `rows` per workgroup) × columns (`wg·cols` per
 * workgroup), plus `extraRows` rows of workgroups (grad_m's column sums).
 */
function dispatchBlocks(rt: GpuRuntime, entry: Entry, K: number, b: Blocking, p: ArrayBuffer, buffers: GPUBuffer[], rows: number, cols: number, describe: string, extraRows = 0): void {
  const ln = lanesFor(rt);
  const x = Math.ceil(cols / (ln.wg * b.cols));
  const y = Math.ceil(rows / b.rows) + extraRows;
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  if (x > max || y > max) throw new GpuError(`gram_${entry}: ${x}×${y} workgroups exceed the adapter's ${max} per dimension; use a smaller batch`);
  rt.dispatch(kernel(entry, K, ln), p, buffers, [x, y], describe);
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

interface ParamOpts {
  aOff?: number;
  oOff?: number;
  gOff?: number;
  mode?: number;
  eps?: number;
  scale?: number;
  smooth?: number;
  c?: number;
  blk?: Blocking;
  fold?: boolean;
}

function params(B: number, D: number, o: ParamOpts = {}): ArrayBuffer {
  return new Params()
    .u32(B, D, o.blk?.rows ?? 0, o.aOff ?? 0)
    .u32(o.oOff ?? 0, o.gOff ?? 0, o.mode ?? 0, o.blk?.cols ?? 0)
    .f32(o.eps ?? 0, o.scale ?? 1, o.smooth ?? 0, o.c ?? 0)
    .u32(o.fold ? 1 : 0, 0, 0, 0)
    .build();
}

function inputParams(pr: GramPrepBuffers, extra: Omit<ParamOpts, 'aOff' | 'oOff'> = {}): ArrayBuffer {
  return params(pr.B, pr.D, { aOff: pr.a.offset, oOff: pr.o.offset, ...extra });
}

const handle = (v: View) => v.storage.handle as GPUBuffer;

/**
 * Whether the three B×B×(K−1)×D contractions run as matmuls (src/backend/webgpu/matmul.ts, whose packed
 * vec4 panels load ~8× fewer values per FMA on lavapipe than the generated kernels) with small
 * elementwise epilogues, rather than as the generated kernels with fused epilogues (fewer
 * dispatches: faster while the fixed cost of a dispatch dominates).
 */
export function usesMatmul(rt: GpuRuntime, B: number, K: number, D: number): boolean {
  if (tuning.path) return tuning.path === 'matmul';
  // The generated kernels walk D in one loop per invocation; past the adapter's loop limit
  // (src/gpu/probe.ts) the matmuls, which split a long contraction, take it.
  if (D > rt.loopTrips / 2) return true;
  return B * B * (K - 1) * D >= MATMUL_MIN_MACS;
}

/** Contraction size (multiply-adds) from which the matmul path is faster (measured on lavapipe). */
const MATMUL_MIN_MACS = 8 * 1024 * 1024;

/** A row-major [rows, cols] view of `buffer` at `offset` (elements), for runMatmul. */
function matView(like: View, buffer: GPUBuffer, offset: number, rows: number, cols: number, transposed = false): View {
  const storage = buffer === handle(like) ? like.storage : new Storage(like.storage.backend, buffer, buffer.size / 4);
  return { storage, shape: transposed ? [cols, rows] : [rows, cols], strides: transposed ? [1, cols] : [cols, 1], offset, dtype: 'float32' };
}

/**
 * The forward: V [B, B], C [B, B, K−1] and the pass buffers (norms and per-sample Grams in Aux).
 * anchor [B, D] and others [B, K−1, D], both contiguous views (offsets honoured).
 */
export function runGramForward(rt: GpuRuntime, a: View, o: View, B: number, K: number, D: number, eps: number): { pr: GramPrepBuffers; V: GPUBuffer; C: GPUBuffer } {
  const Km = K - 1;
  const pr: GramPrepBuffers = { B, K, D, a, o, aux: rt.alloc(B * (K + K * K) * 4, `gram per-sample Grams ${shapeStr([B, K + K * K])}`) };
  const V = rt.alloc(B * B * 4, `gram volumes ${shapeStr([B, B])}`);
  const C = rt.alloc(B * B * Km * 4, `gram cross products ${shapeStr([B, B, Km])}`);
  const describe = `B=${B} K=${K} D=${D}`;
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  if (usesMatmul(rt, B, K, D)) {
    // prep: each invocation walks D / 64 elements, with its loops over the K (K + 1) / 2 products
    rt.checkLoopTrips('gram_prep', Math.ceil(D / 64) * (2 + 2 * K + (K * (K + 1)) / 2), describe);
    rt.dispatch(kernel('prep', K), inputParams(pr, { eps }), [handle(a), handle(o), pr.aux], grid1D(B, 1, max), `anchor ${shapeStr(a.shape)} others ${shapeStr(o.shape)}`);
    // raw o_ik·a_j [B·KM, B] = O @ Aᵀ, then each pair's normalization and determinant
    const raw = runMatmul(rt, matView(a, handle(o), o.offset, B * Km, D), matView(a, handle(a), a.offset, B, D, true), null, 'none');
    rt.dispatch(kernel('det', K), inputParams(pr, { eps }), [raw, handle(o), pr.aux, V, C], grid1D(B * B, 64, max), describe);
    rt.free(raw);
  } else {
    const b = blocking('cross', K);
    dispatchBlocks(rt, 'cross', K, b, inputParams(pr, { eps, blk: b }), [handle(a), handle(o), pr.aux, V, C], B, B, describe);
  }
  return { pr, V, C };
}

/**
 * The per-pair backward. `grad`: dL/dV (contiguous [B, B] view). `contrastive`: the upstream scalar
 * gradient view, the contrastive stats buffer (lr, lc), the logit scale, smoothing and factor c.
 */
export type PairSource = { kind: 'grad'; gV: View } | { kind: 'contrastive'; g: View; stats: GPUBuffer; scale: number; smooth: number; c: number };

function runGramPair(rt: GpuRuntime, pr: GramPrepBuffers, C: GPUBuffer, src: PairSource): { WT: GPUBuffer; U: GPUBuffer } {
  const { B, K } = pr;
  const Km = K - 1;
  const WT = rt.alloc((B * B * (2 * Km + 2) + 2 * B) * 4, `gram pair coefficients ${shapeStr([B * (2 * Km + 2) + 2, B])}`);
  const U = rt.alloc(B * (Km * Km + Km) * 4, `gram per-sample coefficients ${shapeStr([B, Km * Km + Km])}`);
  const contrastive = src.kind === 'contrastive';
  const g = contrastive ? src.g : src.gV;
  const fold = usesMatmul(rt, B, K, pr.D);
  const p = params(B, pr.D, contrastive ? { gOff: g.offset, mode: 1, scale: src.scale, smooth: src.smooth, c: src.c, fold } : { gOff: g.offset, mode: 0, fold });
  const stats = contrastive ? src.stats : pr.aux; // unused in GRAD mode; any read buffer will do
  rt.dispatch(kernel('pair', K), p, [C, pr.aux, handle(g), stats, WT, U], grid1D(B, 1, rt.limits.maxComputeWorkgroupsPerDimension), `B=${B} K=${K}`);
  return { WT, U };
}

/**
 * The whole backward: pair, then the gradients asked for ([anchor, others]; null where not).
 * grad_a needs the column sums of T and Q: the generated grad_m computes them on the side, else
 * the colsum kernel does.
 */
export function runGramBackward(rt: GpuRuntime, pr: GramPrepBuffers, C: GPUBuffer, src: PairSource, eps: number, need: [boolean, boolean]): [GPUBuffer | null, GPUBuffer | null] {
  const { B, K, D } = pr;
  const { WT, U } = runGramPair(rt, pr, C, src);
  const sumsInGradM = need[0] && need[1] && !usesMatmul(rt, B, K, D);
  const gO = need[1] ? runGramGradOthers(rt, pr, WT, U, eps, sumsInGradM) : null;
  if (need[0] && !sumsInGradM) rt.dispatch(kernel('colsum', K), params(B, D), [WT], grid1D(B, 64, rt.limits.maxComputeWorkgroupsPerDimension), `B=${B} K=${K}`);
  const gA = need[0] ? runGramGradAnchor(rt, pr, WT, U, eps) : null;
  rt.free(WT);
  rt.free(U);
  return [gA, gO];
}

/** The grid of grad_m_epi / grad_a_epi: 64 invocations × EPI_D features per workgroup, one row of them per sample. */
const EPI_D = 8;
function epiGrid(rows: number, D: number): [number, number] {
  return [Math.ceil(D / (64 * EPI_D)), rows];
}

/** dL/d others [B, K−1, D] (contiguous); the generated kernel also stores the column sums when `sums`. */
function runGramGradOthers(rt: GpuRuntime, pr: GramPrepBuffers, WT: GPUBuffer, U: GPUBuffer, eps: number, sums: boolean): GPUBuffer {
  const { B, K, D } = pr;
  const Km = K - 1;
  const buffers = (out: GPUBuffer) => [WT, handle(pr.a), handle(pr.o), U, pr.aux, out];
  if (usesMatmul(rt, B, K, D)) {
    // W/‖a_j‖ [B·KM, B] @ A [B, D] (pair folded the norms in), then the epilogue in place
    const out = runMatmul(rt, matView(pr.a, WT, 0, B * Km, B), matView(pr.a, handle(pr.a), pr.a.offset, B, D), null, 'none');
    rt.dispatch(kernel('grad_m_epi', K), inputParams(pr, { eps }), buffers(out), epiGrid(B, D), `B=${B} K=${K} D=${D}`);
    return out;
  }
  const b = blocking('gradM', K);
  const out = rt.alloc(B * Km * D * 4, `gram d(others) ${shapeStr([B, Km, D])}`);
  dispatchBlocks(rt, 'grad_m', K, b, inputParams(pr, { eps, blk: b }), buffers(out), B, D, `B=${B} K=${K} D=${D}`, sums ? 1 : 0);
  return out;
}

/** dL/d anchor [B, D] (contiguous). */
function runGramGradAnchor(rt: GpuRuntime, pr: GramPrepBuffers, WT: GPUBuffer, U: GPUBuffer, eps: number): GPUBuffer {
  const { B, K, D } = pr;
  const Km = K - 1;
  const buffers = (out: GPUBuffer) => [WT, handle(pr.a), handle(pr.o), U, pr.aux, out];
  if (usesMatmul(rt, B, K, D)) {
    // (W/‖m_ik‖)ᵀ [B, B·KM] (pair's Wᵀ region) @ O [B·KM, D], then the epilogue in place
    const wtOff = B * B * Km + 2 * B * B;
    const out = runMatmul(rt, matView(pr.a, WT, wtOff, B, B * Km), matView(pr.a, handle(pr.o), pr.o.offset, B * Km, D), null, 'none');
    rt.dispatch(kernel('grad_a_epi', K), inputParams(pr, { eps }), buffers(out), epiGrid(B, D), `B=${B} K=${K} D=${D}`);
    return out;
  }
  const b = blocking('gradA', K);
  const out = rt.alloc(B * D * 4, `gram d(anchor) ${shapeStr([B, D])}`);
  dispatchBlocks(rt, 'grad_a', K, b, inputParams(pr, { eps, blk: b }), buffers(out), B, D, `B=${B} K=${K} D=${D}`);
  return out;
}

/** The WGSL of one specialization (debugging and compile-time measurements). */
export function kernelSource(entry: Entry, K: number, ln: Lanes): string {
  return kernel(entry, K, ln).code();
}
