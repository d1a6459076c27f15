// Fused Gram-volume kernels (src/backend/webgpu/gram.ts). B samples, K modalities (k = 0 the anchor),
// KM = K − 1 others per sample, D features. For pair (i, j) — sample i's others m̂_i1..m̂_iKM and
// sample j's anchor â_j — the K×K Gram is
//   G00 = â_j·â_j (per anchor), G0k = â_j·m̂_ik (the B×B×KM cross products), Gkl = m̂_ik·m̂_il (per sample)
// and V[i, j] = sqrt(max(det G, VOL_CLAMP)), x̂ = x / max(‖x‖, eps). Every inner product is computed
// once; each pair's determinant and cofactors live in registers (closed forms for K ≤ 3, Gaussian
// elimination with partial pivoting above, row swaps as selects so every index is a loop constant).
// No normalized copy is stored: the kernels read the raw inputs and scale by 1/max(‖x‖, eps).
//
// Entry points:
//   prep     one workgroup per sample: norms and the per-sample Gram (one pass over its K vectors);
//            only before the matmul path's det (the generated cross computes them itself)
//   cross    the B×B×KM dot products along D, the norms and per-sample Grams on the side (-> Aux),
//            and each pair's determinant -> V, C                                       (generated)
//   det      the matmul path's forward epilogue: raw O @ Aᵀ -> V, C
//   pair     one workgroup per sample i, threads over anchors j: dVol/dG = adj(G)ᵀ/(2 Vol) (cofactors,
//            finite for singular G), gathered into the coefficient matrices W, T, Q and per-sample U, r
//   colsum   Σ_i T_ij and Σ_i Q_ij per anchor j (one invocation per anchor, contiguous reads); the
//            generated grad_m runs it in an extra row of workgroups (one dispatch fewer)
//   grad_m   d/d others = W @ Â + 2 U M̂_i, then the normalization backward                 (generated)
//   grad_a   d/d anchor = Wᵀ @ M̂ + 2 ΣT â, then the normalization backward               (generated)
//   grad_m_epi / grad_a_epi  the matmul path's gradient epilogues (in place on the matmul product)
// Buffers: A [B, D], O [B, KM, D] (raw, at a_off / o_off); Aux [B, AUXS] = raw norms [K] then the
// normalized Gram [K, K] (the generated cross leaves the unused G0k, k ≥ 1, unwritten); C [B(i), B(j), KM];
// WT = W [B·KM, B], T [B, B], Q [B, B], Wᵀ [B, B·KM], then the column sums ΣT [B], ΣQ [B];
// U [B, KM·KM + KM] = U then r. On the matmul path W is stored as W/‖a_j‖ and Wᵀ as W/‖m_ik‖.
//
// The three matmul-like contractions are either generated in src/backend/webgpu/gram.ts (subgroup register
// blocks with fused epilogues: few dispatches, for small problems) or run as matmuls
// (src/backend/webgpu/matmul.ts, packed vec4 panels: far fewer loads per FMA on lavapipe, for large ones)
// followed by det / grad_m_epi / grad_a_epi. Both end in the same WGSL functions below.

struct Params {
  B: u32,
  D: u32,
  blk_rows: u32, // generated kernels: rows per workgroup (a runtime bound keeps loops rolled)
  a_off: u32,
  o_off: u32,
  g_off: u32,
  mode: u32, // pair: 0 = dL/dV given, 1 = contrastive softmax fused
  blk_cols: u32, // generated kernels: columns per lane
  eps: f32,
  scale: f32,
  smoothing: f32,
  c: f32,
  fold: u32, // pair: 1 = store W scaled by 1/‖a_j‖ and Wᵀ by 1/‖m_ik‖ (the matmul path's operands)
  _p0: u32,
  _p1: u32,
  _p2: u32,
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

/**
 * Entry (k, l) of a normalized Gram from raw inner products (x̂ = x / max(‖x‖, eps)): 1 on the
 * diagonal (raw / eps² below eps), raw / (max(n_k, eps) max(n_l, eps)) off it.
 */
fn norm_gram(raw_kl: f32, raw_kk: f32, raw_ll: f32, diag: bool) -> f32 {
  if (diag) { return select(raw_kk / (P.eps * P.eps), 1.0, sqrt(raw_kk) >= P.eps); }
  return raw_kl / (max(sqrt(raw_kk), P.eps) * max(sqrt(raw_ll), P.eps));
}

// ---- prep ------------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> prep_A: array<f32>;
@group(0) @binding(2) var<storage, read> prep_O: array<f32>;
@group(0) @binding(3) var<storage, read_write> prep_Aux: array<f32>;

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
  if (lid == 0u) {
    let ab = i * AUXS;
    for (var k = 0u; k < K; k++) {
      prep_Aux[ab + k] = sqrt(raw[k * K + k]);
      for (var l = 0u; l < K; l++) { prep_Aux[ab + K + k * K + l] = norm_gram(raw[k * K + l], raw[k * K + k], raw[l * K + l], k == l); }
    }
  }
}

// ---- cross: V and C (generated: wgslCross in src/backend/webgpu/gram.ts), or det after a matmul ----------

@group(0) @binding(1) var<storage, read> cr_A: array<f32>;
@group(0) @binding(2) var<storage, read> cr_O: array<f32>;
@group(0) @binding(3) var<storage, read_write> cr_Aux: array<f32>; // cross writes it, det reads it
@group(0) @binding(4) var<storage, read_write> cr_V: array<f32>;
@group(0) @binding(5) var<storage, read_write> cr_C: array<f32>;

/**
 * Pair (i, j) from its raw cross products o_ik·a_j: stores the normalized C[i, j, :] and V[i, j].
 * gin holds G00 of anchor j and sample i's normalized Gram block [1.., 1..]; ia and im the inverse
 * (eps-clamped) norms of anchor j and of sample i's others.
 */
fn store_pair(i: u32, j: u32, raw: array<f32, KM>, gin: array<f32, KK>, ia: f32, im: array<f32, KM>) {
  var g = gin;
  for (var k = 0u; k < KM; k++) {
    let cv = raw[k] * ia * im[k];
    cr_C[(i * P.B + j) * KM + k] = cv;
    g[1u + k] = cv;
    g[(1u + k) * K] = cv;
  }
  cr_V[i * P.B + j] = sqrt(max(det_g(g), VOL_CLAMP));
}

{{CROSS}}

// det: the matmul path's forward epilogue; binding 1 holds the raw products [B·KM, B] (O @ Aᵀ).
@group(0) @binding(1) var<storage, read> dt_Cr: array<f32>;

@compute @workgroup_size(64)
fn det(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let B = P.B;
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= B * B) { return; }
  let i = e / B;
  let j = e % B;
  var raw: array<f32, KM>;
  var g: array<f32, KK>;
  var im: array<f32, KM>;
  for (var k = 0u; k < KM; k++) {
    raw[k] = dt_Cr[(i * KM + k) * B + j];
    im[k] = 1.0 / max(cr_Aux[i * AUXS + 1u + k], P.eps);
  }
  for (var k = 1u; k < K; k++) {
    for (var l = 1u; l < K; l++) { g[k * K + l] = cr_Aux[i * AUXS + K + k * K + l]; }
  }
  g[0] = cr_Aux[j * AUXS + K];
  store_pair(i, j, raw, g, 1.0 / max(cr_Aux[j * AUXS], P.eps), im);
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
  let wt_off = q_off + B * B;
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
    let fold = P.fold == 1u;
    let iaj = 1.0 / max(pair_Aux[j * AUXS], P.eps);
    for (var k = 0u; k < KM; k++) {
      let w = 2.0 * s * cof[1u + k];
      pair_WT[(i * KM + k) * B + j] = select(w, w * iaj, fold);
      // Wᵀ: contiguous reads for grad_a
      pair_WT[wt_off + j * B * KM + i * KM + k] = select(w, w / max(pair_Aux[i * AUXS + 1u + k], P.eps), fold);
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

// ---- grad_m / grad_a: the matmul-like chains and the normalization backward -----------------------
// Generated (small problems), or a matmul (src/backend/webgpu/matmul.ts) followed by grad_m_epi / grad_a_epi;
// both end in the same functions. gm_out holds the products Σ_j W â_j (resp. Σ W m̂) on entry to
// the epilogue kernels and the gradients on exit.

@group(0) @binding(1) var<storage, read_write> gm_WT: array<f32>; // read-only but for colsum_at
@group(0) @binding(2) var<storage, read> gm_A: array<f32>;
@group(0) @binding(3) var<storage, read> gm_O: array<f32>;
@group(0) @binding(4) var<storage, read> gm_U: array<f32>;
@group(0) @binding(5) var<storage, read> gm_Aux: array<f32>;
@group(0) @binding(6) var<storage, read_write> gm_out: array<f32>;

/** Sample i's backward coefficients (loaded once per sample, not per feature). */
struct SampleCoef {
  u2: array<f32, {{KMKM}}>, // 2·U_ikl
  rr: array<f32, KM>, // r_ik, 0 below eps (x / eps: no radial projection)
  inv: array<f32, KM>, // 1 / max(‖m_ik‖, eps)
}

fn sample_coef(i: u32) -> SampleCoef {
  var sc: SampleCoef;
  let ub = i * USTR;
  for (var k = 0u; k < KM; k++) {
    let n = gm_Aux[i * AUXS + 1u + k];
    sc.inv[k] = 1.0 / max(n, P.eps);
    sc.rr[k] = select(gm_U[ub + KM * KM + k], 0.0, n < P.eps);
    for (var l = 0u; l < KM; l++) { sc.u2[k * KM + l] = 2.0 * gm_U[ub + k * KM + l]; }
  }
  return sc;
}

/** m̂_il[d] for l < KM. */
fn others_hat(i: u32, d: u32, sc: SampleCoef) -> array<f32, KM> {
  var h: array<f32, KM>;
  for (var l = 0u; l < KM; l++) { h[l] = gm_O[P.o_off + (i * KM + l) * P.D + d] * sc.inv[l]; }
  return h;
}

/**
 * dL/d others[i, k, d] from g = Σ_j W[(i,k), j] â_j[d]: dm̂_ik = g + 2 Σ_l U_ikl m̂_il, then the
 * normalization backward (x̂ = x / max(‖x‖, eps)) with r_ik = m̂_ik·dm̂_ik from the pair kernel.
 */
fn grad_m_final(k: u32, g0: f32, h: array<f32, KM>, sc: SampleCoef) -> f32 {
  var g = g0;
  for (var l = 0u; l < KM; l++) { g = fma(sc.u2[k * KM + l], h[l], g); }
  return (g - h[k] * sc.rr[k]) * sc.inv[k];
}

/** Anchor j's backward coefficients: Σ_i T_ij, â_j·dâ_j = Σ_i Q_ij (0 below eps), 1 / max(‖a_j‖, eps). */
struct AnchorCoef {
  ts: f32,
  q: f32,
  inv: f32,
}

fn anchor_coef(j: u32) -> AnchorCoef {
  let B = P.B;
  let s_off = B * KM * B + 2u * B * B + B * B * KM; // the column sums (colsum_at)
  let n = gm_Aux[j * AUXS];
  return AnchorCoef(gm_WT[s_off + j], select(gm_WT[s_off + B + j], 0.0, n < P.eps), 1.0 / max(n, P.eps));
}

/**
 * dL/d anchor[j, d] from g = Σ_{i,k} W[(i,k), j] m̂_ik[d]: dâ_j = g + 2 (Σ_i T_ij) â_j, then the
 * normalization backward with â_j·dâ_j = Σ_i Q_ij.
 */
fn grad_a_final(j: u32, d: u32, g: f32, ac: AnchorCoef) -> f32 {
  let h = gm_A[P.a_off + j * P.D + d] * ac.inv;
  return (fma(2.0 * ac.ts, h, g) - h * ac.q) * ac.inv;
}

/** Σ_i T_ij and Σ_i Q_ij of anchor j (contiguous reads across anchors), stored after WT for grad_a_final. */
fn colsum_at(j: u32) {
  let B = P.B;
  let t_off = B * KM * B;
  let q_off = t_off + B * B;
  let s_off = q_off + B * B + B * B * KM;
  var ts = 0.0;
  var qs = 0.0;
  for (var i = 0u; i < B; i++) {
    ts += gm_WT[t_off + i * B + j];
    qs += gm_WT[q_off + i * B + j];
  }
  gm_WT[s_off + j] = ts;
  gm_WT[s_off + B + j] = qs;
}

// colsum: standalone (the generated grad_m does it in its extra row of workgroups instead)
@compute @workgroup_size(64)
fn colsum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j < P.B) { colsum_at(j); }
}

{{GRAD_M}}

{{GRAD_A}}

// The epilogue kernels: one invocation per (row, EPI_D consecutive features at stride 64), so the
// row's coefficients are loaded once per EPI_D features. Grid: x = ceil(D / (64·EPI_D)), y = rows.
const EPI_D: u32 = 8u;

/** Feature t (0..EPI_D−1) of invocation lid in feature strip x. */
fn epi_feature(x: u32, t: u32, lid: u32) -> u32 {
  return x * 64u * EPI_D + t * 64u + lid;
}

@compute @workgroup_size(64)
fn grad_m_epi(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.y;
  let sc = sample_coef(i);
  for (var t = 0u; t < EPI_D && epi_feature(wid.x, t, lid) < P.D; t++) {
    let d = epi_feature(wid.x, t, lid);
    let h = others_hat(i, d, sc);
    for (var k = 0u; k < KM; k++) {
      let o = (i * KM + k) * P.D + d;
      gm_out[o] = grad_m_final(k, gm_out[o], h, sc);
    }
  }
}

@compute @workgroup_size(64)
fn grad_a_epi(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let ac = anchor_coef(wid.y);
  for (var t = 0u; t < EPI_D && epi_feature(wid.x, t, lid) < P.D; t++) {
    let d = epi_feature(wid.x, t, lid);
    gm_out[wid.y * P.D + d] = grad_a_final(wid.y, d, gm_out[wid.y * P.D + d], ac);
  }
}
