// Fused Gram-volume kernels (src/kernels/gram.ts). B samples, K modalities (k = 0 the anchor),
// KM = K − 1 others per sample, D features. For pair (i, j) — sample i's others m̂_i1..m̂_iKM and
// sample j's anchor â_j — the K×K Gram is
//   G00 = â_j·â_j (per anchor), G0k = â_j·m̂_ik (the B×B×KM cross products), Gkl = m̂_ik·m̂_il (per sample)
// and V[i, j] = sqrt(max(det G, VOL_CLAMP)). Every inner product is computed once; each pair's
// determinant and cofactors live in registers (closed forms for K ≤ 3, Gaussian elimination with
// partial pivoting above, row swaps as selects so every index stays a loop constant).
//
// Entry points:
//   prep     one workgroup per sample: norms, the per-sample Gram, normalized copies (rows padded to D4)
//   cross    register-blocked B×B×KM dot products along D (vec4) + the determinant -> V, C
//   pair     one workgroup per sample i, threads over anchors j: dVol/dG = adj(G)ᵀ/(2 Vol) (cofactors,
//            finite for singular G), gathered into the coefficient matrices W, T, Q and per-sample U, r
//   grad_m   d/d others = W @ Â + 2 U M̂_i, then the normalization backward (matmul-like, register-blocked)
//   grad_a   d/d anchor = Wᵀ @ M̂ + 2 ΣT â, then the normalization backward
// Buffers: Hat [B, K, D4] normalized vectors; Aux [B, AUXS] = raw norms [K] then the Gram [K, K];
// C [B(i), B(j), KM]; WT = W [B·KM, B] then T [B, B] then Q [B, B]; U [B, KM·KM + KM] = U then r.
// With the register blocking below, global loads are the only memory traffic: on a software
// adapter (lavapipe) workgroup-memory tiles and barriers cost more than they save.

struct Params {
  B: u32,
  D: u32,
  D4: u32,
  a_off: u32,
  o_off: u32,
  g_off: u32,
  mode: u32, // pair: 0 = dL/dV given, 1 = contrastive softmax fused
  _p1: u32,
  eps: f32,
  scale: f32,
  smoothing: f32,
  c: f32,
}

@group(0) @binding(0) var<uniform> P: Params;

const K: u32 = {{K}}u;
const KM: u32 = {{KM}}u;
const KK: u32 = {{KK}}u;
const AUXS: u32 = {{AUXS}}u;
const USTR: u32 = {{USTR}}u;
const VOL_CLAMP: f32 = 1e-12;
const NEG_BIG: f32 = -3.0e38;

{{DET_FNS}}

// ---- prep ------------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> prep_A: array<f32>;
@group(0) @binding(2) var<storage, read> prep_O: array<f32>;
@group(0) @binding(3) var<storage, read_write> prep_H: array<f32>;
@group(0) @binding(4) var<storage, read_write> prep_Aux: array<f32>;

const NP: u32 = {{NP}}u; // K(K+1)/2 inner products per sample
var<workgroup> prep_red: array<f32, {{NP64}}>;
var<workgroup> prep_res: array<f32, {{NP}}>;

fn prep_x(i: u32, k: u32, d: u32) -> f32 {
  if (k == 0u) { return prep_A[P.a_off + i * P.D + d]; }
  return prep_O[P.o_off + (i * KM + k - 1u) * P.D + d];
}

@compute @workgroup_size(64)
fn prep(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= P.B) { return; }
  var acc: array<f32, NP>;
  for (var d = lid; d < P.D; d += 64u) {
    var x: array<f32, K>;
    for (var k = 0u; k < K; k++) { x[k] = prep_x(i, k, d); }
    var q = 0u;
    for (var k = 0u; k < K; k++) {
      for (var l = k; l < K; l++) { acc[q] = fma(x[k], x[l], acc[q]); q++; }
    }
  }
  for (var q = 0u; q < NP; q++) { prep_red[q * 64u + lid] = acc[q]; }
  workgroupBarrier();
  if (lid < NP) {
    var s = 0.0;
    for (var t = 0u; t < 64u; t++) { s += prep_red[lid * 64u + t]; }
    prep_res[lid] = s;
  }
  workgroupBarrier();
  var raw: array<f32, KK>;
  var q = 0u;
  for (var k = 0u; k < K; k++) {
    for (var l = k; l < K; l++) { raw[k * K + l] = prep_res[q]; raw[l * K + k] = prep_res[q]; q++; }
  }
  var nn: array<f32, K>;
  for (var k = 0u; k < K; k++) { nn[k] = max(sqrt(raw[k * K + k]), P.eps); }
  for (var d = lid; d < P.D4; d += 64u) {
    for (var k = 0u; k < K; k++) {
      var v = 0.0;
      if (d < P.D) { v = prep_x(i, k, d) / nn[k]; }
      prep_H[(i * K + k) * P.D4 + d] = v;
    }
  }
  if (lid == 0u) {
    let ab = i * AUXS;
    for (var k = 0u; k < K; k++) {
      let n = sqrt(raw[k * K + k]);
      prep_Aux[ab + k] = n;
      for (var l = 0u; l < K; l++) {
        var g: f32;
        if (k == l) {
          g = select(raw[k * K + k] / (P.eps * P.eps), 1.0, n >= P.eps);
        } else {
          g = raw[k * K + l] / (nn[k] * nn[l]);
        }
        prep_Aux[ab + K + k * K + l] = g;
      }
    }
  }
}

// ---- cross: V and C --------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> cross_H: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> cross_Aux: array<f32>;
@group(0) @binding(3) var<storage, read_write> cross_V: array<f32>;
@group(0) @binding(4) var<storage, read_write> cross_C: array<f32>;

const RA: u32 = {{RA}}u; // samples (i) per invocation
const RB: u32 = {{RB}}u; // anchors (j) per invocation

@compute @workgroup_size({{WX}}, {{WY}})
fn cross(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i0 = gid.y * RA;
  let j0 = gid.x * RB;
  if (i0 >= P.B || j0 >= P.B) { return; }
  let D4v = P.D4 / 4u;
  var mo: array<u32, {{RAKM}}>;
  var ao: array<u32, RB>;
  for (var a = 0u; a < RA; a++) {
    let i = min(i0 + a, P.B - 1u);
    for (var k = 0u; k < KM; k++) { mo[a * KM + k] = (i * K + 1u + k) * D4v; }
  }
  for (var b = 0u; b < RB; b++) { ao[b] = min(j0 + b, P.B - 1u) * K * D4v; }
  var acc: array<vec4<f32>, {{RARBKM}}>;
  for (var d = 0u; d < D4v; d++) {
    var av: array<vec4<f32>, RB>;
    for (var b = 0u; b < RB; b++) { av[b] = cross_H[ao[b] + d]; }
    for (var a = 0u; a < RA; a++) {
      for (var k = 0u; k < KM; k++) {
        let m = cross_H[mo[a * KM + k] + d];
        for (var b = 0u; b < RB; b++) {
          let q = (a * RB + b) * KM + k;
          acc[q] = fma(m, av[b], acc[q]);
        }
      }
    }
  }
  for (var a = 0u; a < RA; a++) {
    let i = i0 + a;
    if (i >= P.B) { continue; }
    var g: array<f32, KK>;
    for (var k = 1u; k < K; k++) {
      for (var l = 1u; l < K; l++) { g[k * K + l] = cross_Aux[i * AUXS + K + k * K + l]; }
    }
    for (var b = 0u; b < RB; b++) {
      let j = j0 + b;
      if (j >= P.B) { continue; }
      g[0] = cross_Aux[j * AUXS + K];
      for (var k = 0u; k < KM; k++) {
        let v = acc[(a * RB + b) * KM + k];
        let c = (v.x + v.y) + (v.z + v.w);
        cross_C[(i * P.B + j) * KM + k] = c;
        g[1u + k] = c;
        g[(1u + k) * K] = c;
      }
      cross_V[i * P.B + j] = sqrt(max(det_g(g), VOL_CLAMP));
    }
  }
}

// ---- pair: the per-pair backward -------------------------------------------------------------

@group(0) @binding(1) var<storage, read> pair_C: array<f32>;
@group(0) @binding(2) var<storage, read> pair_Aux: array<f32>;
// GRAD mode: dL/dV [B, B] at g_off. CONTRASTIVE mode: the upstream scalar at g_off, and the
// row / column log-sum-exp of the logits scale·V in pair_St (lr [B], lc [B]).
@group(0) @binding(3) var<storage, read> pair_G: array<f32>;
@group(0) @binding(4) var<storage, read> pair_St: array<f32>;
@group(0) @binding(5) var<storage, read_write> pair_WT: array<f32>;
@group(0) @binding(6) var<storage, read_write> pair_U: array<f32>;

const NU: u32 = {{NU}}u; // KM(KM+1)/2 entries of U, then KM of r
var<workgroup> pair_red: array<f32, {{NUR64}}>;
var<workgroup> pair_res: array<f32, {{NUR}}>;

@compute @workgroup_size(64)
fn pair(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x + wid.y * nwg.x;
  if (i >= P.B) { return; }
  let B = P.B;
  var gi: array<f32, KK>;
  for (var k = 1u; k < K; k++) {
    for (var l = 1u; l < K; l++) { gi[k * K + l] = pair_Aux[i * AUXS + K + k * K + l]; }
  }
  let contrastive = P.mode == 1u;
  var gs = 0.0;
  var lri = 0.0;
  if (contrastive) {
    gs = pair_G[P.g_off] * P.c * P.scale;
    lri = pair_St[i];
  }
  let qoff = P.smoothing / f32(B);
  var uacc: array<f32, {{NUR}}>;
  let t_off = B * KM * B;
  let q_off = t_off + B * B;
  for (var j = lid; j < B; j += 64u) {
    var g = gi;
    g[0] = pair_Aux[j * AUXS + K];
    for (var k = 0u; k < KM; k++) {
      let c = pair_C[(i * B + j) * KM + k];
      g[1u + k] = c;
      g[(1u + k) * K] = c;
    }
    let det = det_g(g);
    var s = 0.0;
    if (det >= VOL_CLAMP) {
      let vol = sqrt(det);
      var gv: f32;
      if (contrastive) {
        let x = P.scale * vol;
        let q = select(0.0, 1.0 - P.smoothing, i == j) + qoff;
        gv = gs * (exp(x - lri) + exp(x - pair_St[B + j]) - 2.0 * q);
      } else {
        gv = pair_G[P.g_off + i * B + j];
      }
      s = gv / (2.0 * vol);
    }
    var cof: array<f32, KK>;
    if (s != 0.0) { cof = cofactors_g(g); }
    var qv = 0.0;
    for (var k = 0u; k < KM; k++) {
      let w = 2.0 * s * cof[1u + k];
      pair_WT[(i * KM + k) * B + j] = w;
      let wc = w * g[1u + k];
      qv += wc;
      uacc[NU + k] += wc;
    }
    var u = 0u;
    for (var k = 0u; k < KM; k++) {
      for (var l = k; l < KM; l++) { uacc[u] += s * cof[(1u + k) * K + 1u + l]; u++; }
    }
    pair_WT[t_off + i * B + j] = s * cof[0];
    pair_WT[q_off + i * B + j] = qv + 2.0 * s * cof[0] * g[0];
  }
  for (var q = 0u; q < NU + KM; q++) { pair_red[q * 64u + lid] = uacc[q]; }
  workgroupBarrier();
  if (lid < NU + KM) {
    var s = 0.0;
    for (var t = 0u; t < 64u; t++) { s += pair_red[lid * 64u + t]; }
    pair_res[lid] = s;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var um: array<f32, {{KMKM}}>;
    var u = 0u;
    for (var k = 0u; k < KM; k++) {
      for (var l = k; l < KM; l++) { um[k * KM + l] = pair_res[u]; um[l * KM + k] = pair_res[u]; u++; }
    }
    let ub = i * USTR;
    for (var k = 0u; k < KM; k++) {
      var t = 0.0;
      for (var l = 0u; l < KM; l++) {
        pair_U[ub + k * KM + l] = um[k * KM + l];
        t += um[k * KM + l] * gi[(1u + k) * K + 1u + l];
      }
      pair_U[ub + KM * KM + k] = pair_res[NU + k] + 2.0 * t;
    }
  }
}

// ---- grad_m / grad_a: the matmul-like chains and the normalization backward -------------------

@group(0) @binding(1) var<storage, read> gm_WT: array<f32>;
@group(0) @binding(2) var<storage, read> gm_H: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gm_U: array<f32>;
@group(0) @binding(4) var<storage, read> gm_Aux: array<f32>;
@group(0) @binding(5) var<storage, read_write> gm_out: array<f32>;

const GA: u32 = {{GA}}u; // output rows per invocation
const GB: u32 = {{GB}}u; // vec4 column chunks per invocation

fn store_row(row: u32, c: u32, v: vec4<f32>) {
  let d0 = c * 4u;
  let base = row * P.D;
  for (var e = 0u; e < 4u; e++) {
    if (d0 + e < P.D) { gm_out[base + d0 + e] = v[e]; }
  }
}

fn norm_back(g: vec4<f32>, h: vec4<f32>, rr: f32, n: f32) -> vec4<f32> {
  if (n >= P.eps) { return (g - h * rr) / n; }
  return g / P.eps;
}

@compute @workgroup_size({{GWX}}, {{GWY}})
fn grad_m(@builtin(global_invocation_id) gid: vec3<u32>) {
  let B = P.B;
  let rows = B * KM;
  let D4v = P.D4 / 4u;
  let r0 = gid.y * GA;
  let c0 = gid.x * GB;
  if (r0 >= rows || c0 >= D4v) { return; }
  var wo: array<u32, GA>;
  var co: array<u32, GB>;
  for (var a = 0u; a < GA; a++) { wo[a] = min(r0 + a, rows - 1u) * B; }
  for (var b = 0u; b < GB; b++) { co[b] = min(c0 + b, D4v - 1u); }
  var acc: array<vec4<f32>, {{GAGB}}>;
  for (var j = 0u; j < B; j++) {
    let hb = j * K * D4v;
    var h: array<vec4<f32>, GB>;
    for (var b = 0u; b < GB; b++) { h[b] = gm_H[hb + co[b]]; }
    for (var a = 0u; a < GA; a++) {
      let w = vec4<f32>(gm_WT[wo[a] + j]);
      for (var b = 0u; b < GB; b++) { acc[a * GB + b] = fma(w, h[b], acc[a * GB + b]); }
    }
  }
  for (var a = 0u; a < GA; a++) {
    let row = r0 + a;
    if (row >= rows) { continue; }
    let i = row / KM;
    let k = row % KM;
    let n = gm_Aux[i * AUXS + 1u + k];
    let ub = i * USTR;
    let rr = gm_U[ub + KM * KM + k];
    for (var b = 0u; b < GB; b++) {
      let c = c0 + b;
      if (c >= D4v) { continue; }
      var g = acc[a * GB + b];
      for (var l = 0u; l < KM; l++) {
        g = fma(vec4<f32>(2.0 * gm_U[ub + k * KM + l]), gm_H[(i * K + 1u + l) * D4v + c], g);
      }
      store_row(row, c, norm_back(g, gm_H[(i * K + 1u + k) * D4v + c], rr, n));
    }
  }
}

@compute @workgroup_size({{GWX}}, {{GWY}})
fn grad_a(@builtin(global_invocation_id) gid: vec3<u32>) {
  let B = P.B;
  let D4v = P.D4 / 4u;
  let j0 = gid.y * GA;
  let c0 = gid.x * GB;
  if (j0 >= B || c0 >= D4v) { return; }
  var ja: array<u32, GA>;
  var co: array<u32, GB>;
  for (var a = 0u; a < GA; a++) { ja[a] = min(j0 + a, B - 1u); }
  for (var b = 0u; b < GB; b++) { co[b] = min(c0 + b, D4v - 1u); }
  var acc: array<vec4<f32>, {{GAGB}}>;
  for (var i = 0u; i < B; i++) {
    for (var k = 0u; k < KM; k++) {
      let r = i * KM + k;
      let hb = (i * K + 1u + k) * D4v;
      var h: array<vec4<f32>, GB>;
      for (var b = 0u; b < GB; b++) { h[b] = gm_H[hb + co[b]]; }
      for (var a = 0u; a < GA; a++) {
        let w = vec4<f32>(gm_WT[r * B + ja[a]]);
        for (var b = 0u; b < GB; b++) { acc[a * GB + b] = fma(w, h[b], acc[a * GB + b]); }
      }
    }
  }
  let t_off = B * KM * B;
  let q_off = t_off + B * B;
  var ts: array<f32, GA>;
  var qs: array<f32, GA>;
  for (var i = 0u; i < B; i++) {
    for (var a = 0u; a < GA; a++) {
      ts[a] += gm_WT[t_off + i * B + ja[a]];
      qs[a] += gm_WT[q_off + i * B + ja[a]];
    }
  }
  for (var a = 0u; a < GA; a++) {
    let j = j0 + a;
    if (j >= B) { continue; }
    let n = gm_Aux[j * AUXS];
    for (var b = 0u; b < GB; b++) {
      let c = c0 + b;
      if (c >= D4v) { continue; }
      let h = gm_H[j * K * D4v + c];
      let g = fma(vec4<f32>(2.0 * ts[a]), h, acc[a * GB + b]);
      store_row(j, c, norm_back(g, h, qs[a], n));
    }
  }
}
