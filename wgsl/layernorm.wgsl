// LayerNorm over the last axis of a contiguous [rows, n] tensor, forward and backward.
// One workgroup per row. The forward saves mean and 1/std per row; the backward recomputes x̂
// from them and writes dx plus g·x̂ (summed over rows by a reduction for dgamma).
//   dx = rstd * (gy - mean(gy) - x̂ * mean(gy * x̂)),  gy = g * gamma

struct Params {
  rows: u32,
  n: u32,
  eps: f32,
  has_affine: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Gamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> Out: array<f32>;  // forward: y; backward: dx
// Forward only:
@group(0) @binding(3) var<storage, read> Beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> MeanOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> RstdOut: array<f32>;
// Backward only:
@group(0) @binding(3) var<storage, read> Gup: array<f32>;
@group(0) @binding(5) var<storage, read> MeanIn: array<f32>;
@group(0) @binding(6) var<storage, read> RstdIn: array<f32>;
@group(0) @binding(7) var<storage, read_write> GXhat: array<f32>;

const WG: u32 = 64u;
var<workgroup> red: array<f32, 64>;
var<workgroup> red2: array<f32, 64>;

fn tree_sum2(lid: u32, a: f32, b: f32) -> vec2<f32> {
  red[lid] = a;
  red2[lid] = b;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
      red2[lid] += red2[lid + s];
    }
    workgroupBarrier();
  }
  let r = vec2<f32>(red[0], red2[0]);
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= P.rows) { return; }
  let base = row * P.n;
  let nf = f32(P.n);
  var s = 0.0;
  for (var j = lid; j < P.n; j += WG) { s += X[base + j]; }
  let mean = tree_sum2(lid, s, 0.0).x / nf;
  var v = 0.0;
  for (var j = lid; j < P.n; j += WG) { let d = X[base + j] - mean; v += d * d; }
  let rstd = inverseSqrt(tree_sum2(lid, v, 0.0).x / nf + P.eps);
  for (var j = lid; j < P.n; j += WG) {
    var y = (X[base + j] - mean) * rstd;
    if (P.has_affine != 0u) { y = y * Gamma[j] + Beta[j]; }
    Out[base + j] = y;
  }
  if (lid == 0u) {
    MeanOut[row] = mean;
    RstdOut[row] = rstd;
  }
}

@compute @workgroup_size(64)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= P.rows) { return; }
  let base = row * P.n;
  let nf = f32(P.n);
  let mean = MeanIn[row];
  let rstd = RstdIn[row];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var j = lid; j < P.n; j += WG) {
    let xh = (X[base + j] - mean) * rstd;
    var gy = Gup[base + j];
    GXhat[base + j] = gy * xh;
    if (P.has_affine != 0u) { gy = gy * Gamma[j]; }
    s1 += gy;
    s2 += gy * xh;
  }
  let s = tree_sum2(lid, s1, s2);
  for (var j = lid; j < P.n; j += WG) {
    let xh = (X[base + j] - mean) * rstd;
    var gy = Gup[base + j];
    if (P.has_affine != 0u) { gy = gy * Gamma[j]; }
    Out[base + j] = rstd * (gy - s.x / nf - xh * s.y / nf);
  }
}
