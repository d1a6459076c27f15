// Two-direction contrastive softmax over a square [B, B] logit matrix x = scale·X (src/backend/webgpu/contrastive.ts):
//   loss = c · Σ_i [ CE(row i, target i) + CE(column i, target i) ],  target (1−ε)·onehot + ε/B.
// lse_blocks: one workgroup per block of RBK rows reads each element once, producing the rows'
//   log-sum-exp (complete: a block owns its rows) and each column's partial (max, Σexp) over the
//   block's rows, plus the block's sum of logits (label smoothing). Row and column LSE in one pass.
// finalize: one workgroup merges the column partials into the column LSE and reduces the loss.
// lse_small: for B <= SMALL_B, one workgroup does both (lse_blocks + finalize in one dispatch).
// backward: dX = g·c·scale·(softmax_row + softmax_col − 2·target), elementwise from the saved LSEs.
// Stats layout: lr [B] | lc [B] | pm [nblk, B] | ps [nblk, B] | ptot [nblk].

struct Params {
  B: u32,
  nblk: u32,
  x_off: u32,
  g_off: u32,
  scale: f32,
  smoothing: f32,
  c: f32,
  _p: f32,
}

@group(0) @binding(0) var<uniform> P: Params;

const RBK: u32 = 8u;
const WG: u32 = 64u;
const NEG_BIG: f32 = -3.0e38;

// ---- lse_blocks --------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> lb_X: array<f32>;
@group(0) @binding(2) var<storage, read_write> lb_St: array<f32>;

var<workgroup> lb_m: array<f32, 512>; // [RBK][WG]
var<workgroup> lb_s: array<f32, 512>;
var<workgroup> lb_t: array<f32, 64>;

@compute @workgroup_size(64)
fn lse_blocks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let blk = wid.x + wid.y * nwg.x;
  if (blk >= P.nblk) { return; }
  let B = P.B;
  let r0 = blk * RBK;
  let nr = min(RBK, B - r0);
  var rm: array<f32, RBK>;
  var rs: array<f32, RBK>;
  for (var r = 0u; r < RBK; r++) { rm[r] = NEG_BIG; rs[r] = 0.0; }
  var tot = 0.0;
  let pm = 2u * B + blk * B;
  let ps = 2u * B + P.nblk * B + blk * B;
  for (var j = lid; j < B; j += WG) {
    var v: array<f32, RBK>;
    var m = NEG_BIG;
    for (var r = 0u; r < RBK; r++) {
      if (r < nr) {
        v[r] = P.scale * lb_X[P.x_off + (r0 + r) * B + j];
        m = max(m, v[r]);
        tot += v[r];
      }
    }
    var s = 0.0;
    for (var r = 0u; r < RBK; r++) {
      if (r < nr) {
        s += exp(v[r] - m);
        let nm = max(rm[r], v[r]);
        rs[r] = rs[r] * exp(rm[r] - nm) + exp(v[r] - nm);
        rm[r] = nm;
      }
    }
    lb_St[pm + j] = m;
    lb_St[ps + j] = s;
  }
  for (var r = 0u; r < RBK; r++) {
    lb_m[r * WG + lid] = rm[r];
    lb_s[r * WG + lid] = rs[r];
  }
  lb_t[lid] = tot;
  workgroupBarrier();
  if (lid < nr) {
    var M = NEG_BIG;
    for (var t = 0u; t < WG; t++) { M = max(M, lb_m[lid * WG + t]); }
    var S = 0.0;
    for (var t = 0u; t < WG; t++) { S += lb_s[lid * WG + t] * exp(lb_m[lid * WG + t] - M); }
    lb_St[r0 + lid] = M + log(S);
  }
  if (lid == WG - 1u) {
    var T = 0.0;
    for (var t = 0u; t < WG; t++) { T += lb_t[t]; }
    lb_St[2u * B + 2u * P.nblk * B + blk] = T;
  }
}

// ---- finalize ------------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> fin_X: array<f32>;
@group(0) @binding(2) var<storage, read_write> fin_St: array<f32>;
@group(0) @binding(3) var<storage, read_write> fin_loss: array<f32>;

var<workgroup> fin_red: array<f32, 256>;

/** Sums the 256 invocations' parts of the loss (a tree in workgroup memory) and stores c · Σ. */
fn store_loss(lid: u32, part: f32) {
  fin_red[lid] = part;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { fin_red[lid] += fin_red[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { fin_loss[0] = P.c * fin_red[0]; }
}

@compute @workgroup_size(256)
fn finalize(@builtin(local_invocation_index) lid: u32) {
  let B = P.B;
  let nb = P.nblk;
  var part = 0.0;
  for (var j = lid; j < B; j += 256u) {
    var M = NEG_BIG;
    for (var b = 0u; b < nb; b++) { M = max(M, fin_St[2u * B + b * B + j]); }
    var S = 0.0;
    for (var b = 0u; b < nb; b++) { S += fin_St[2u * B + nb * B + b * B + j] * exp(fin_St[2u * B + b * B + j] - M); }
    let lc = M + log(S);
    fin_St[B + j] = lc;
    part += fin_St[j] + lc - 2.0 * (1.0 - P.smoothing) * P.scale * fin_X[P.x_off + j * B + j];
  }
  if (lid == 0u) {
    var T = 0.0;
    for (var b = 0u; b < nb; b++) { T += fin_St[2u * B + 2u * nb * B + b]; }
    part -= 2.0 * P.smoothing / f32(B) * T;
  }
  store_loss(lid, part);
}

// ---- lse_small: the whole forward in one workgroup (small B: one dispatch instead of two) -------

/** Row (dir 0) or column (dir 1) `r`: its log-sum-exp, stored to the stats, minus its target's logit. */
fn ce_line(r: u32, dir: u32) -> f32 {
  let B = P.B;
  let step = select(1u, B, dir == 1u);
  let base = P.x_off + select(r * B, r, dir == 1u);
  var M = NEG_BIG;
  var tot = 0.0;
  for (var t = 0u; t < B; t++) {
    let v = P.scale * fin_X[base + t * step];
    M = max(M, v);
    tot += v;
  }
  var S = 0.0;
  for (var t = 0u; t < B; t++) { S += exp(P.scale * fin_X[base + t * step] - M); }
  let lse = M + log(S);
  fin_St[dir * B + r] = lse;
  return lse - (1.0 - P.smoothing) * P.scale * fin_X[P.x_off + r * B + r] - P.smoothing / f32(B) * tot;
}

@compute @workgroup_size(256)
fn lse_small(@builtin(local_invocation_index) lid: u32) {
  var part = 0.0;
  for (var r = lid; r < P.B; r += 256u) { part += ce_line(r, 0u) + ce_line(r, 1u); }
  store_loss(lid, part);
}

// ---- backward ------------------------------------------------------------------------------------

@group(0) @binding(1) var<storage, read> bw_X: array<f32>;
@group(0) @binding(2) var<storage, read> bw_St: array<f32>;
@group(0) @binding(3) var<storage, read> bw_G: array<f32>;
@group(0) @binding(4) var<storage, read_write> bw_DX: array<f32>;

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let B = P.B;
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= B * B) { return; }
  let i = e / B;
  let j = e % B;
  let x = P.scale * bw_X[P.x_off + e];
  let q = select(0.0, 1.0 - P.smoothing, i == j) + P.smoothing / f32(B);
  let k = bw_G[P.g_off] * P.c * P.scale;
  bw_DX[e] = k * (exp(x - bw_St[i]) + exp(x - bw_St[B + j]) - 2.0 * q);
}
